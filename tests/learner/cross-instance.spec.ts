// Your cross-instance test (lesson 2). It must catch the split brain: in the
// `split` stage it fails, and from lesson 5 on (the Redis adapter) it passes.
//   npx playwright test -c tests/learner

import { expect, test } from '@playwright/test';
import { openChat } from './chat.ts';

test('a message sent on one instance reaches a member of the room on another', async ({ browser }) => {
  const alice = await openChat(browser, 'alice');
  const bob = await openChat(browser, 'bob', { notOn: alice.serverId });
  // The precondition: two members, on two different instances.
  expect(bob.serverId).not.toBe(alice.serverId);

  await alice.join('lobby');
  await bob.join('lobby');
  await alice.send('hello from alice');

  await expect(bob.messages).toContainText('hello from alice');
});
