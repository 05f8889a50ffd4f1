// Your cross-instance test (lesson 2). It must catch the split brain: in the
// `split` stage it fails, and from lesson 5 on (the Redis adapter) it passes.
//   npx playwright test -c tests/learner

import { expect, test } from '@playwright/test';
import { openChat } from './chat.ts';

test('a message sent on one instance reaches a member of the room on another', async ({ browser }) => {
  const alice = await openChat(browser, 'alice');
  await alice.join('lobby');
  await alice.send('hello from alice');

  // TODO: this only proves that alice hears herself, which is true on one
  // instance and on two. Open a second member on ANOTHER instance
  // (openChat(browser, 'bob', { notOn: alice.serverId })), make sure it really
  // is on another one, join it to the room before alice sends, and expect IT
  // to receive alice's message.
  await expect(alice.messages).toContainText('hello from alice');
});
