// Lesson 12's promise, on the real stack: "who is here?" and "how many?" answer
// for the whole fleet — also right after a stage change restarted every
// instance, when each adapter is still subscribing to Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { startLab, until } from '../helpers/lab.ts';

describe('presence across the fleet', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('split');
  });
  after(() => lab?.down());

  test("right after a stage change restarts every instance, who and stats count every instance's clients", async () => {
    await lab.setStage('scaled');
    // WebSocket only: a polling client that reconnects while nginx still routes
    // around a restarted instance can leave a half-open session behind for a
    // heartbeat round, which every instance rightly counts. This test is about
    // the adapter's answers, not about that.
    const clients = await lab.fleet.add(6, { rooms: ['lobby'], transports: ['websocket'] });
    assert.ok(new Set(clients.map((c) => c.serverId)).size >= 2, 'clients spread over the instances');
    for (const stage of ['limits', 'scaled']) {
      // Every instance restarts (other settings); the fleet reconnects and rejoins on its own.
      const report = await lab.setStage(stage);
      assert.ok(report.filter((l) => /^s\d: (re)?start/.test(l)).length >= 2, report.join('; '));
      // Each client reconnects after its own backoff (up to 5 s, doubling while instances restart).
      const ids = new Set(clients.map((c) => c.id));
      await until(
        'the fleet back and in its room',
        () =>
          clients.every((c) => c.socket.connected && c.serverId) &&
          lab.hub.snapshot().clients.filter((c) => ids.has(c.clientId) && c.rooms.includes('lobby')).length === 6,
        30_000,
      );
      const who = await lab.fleet.who(clients[0]!.id, 'lobby');
      assert.ok(who.ok, JSON.stringify(who));
      assert.equal(
        who.members.length,
        6,
        `in ${stage}, members seen: ${who.members.map((m) => `${m.name}@${m.serverId}`).join(', ')}`,
      );
      const stats = await lab.fleet.stats(clients[1]!.id);
      assert.ok(stats.ok && stats.total === 6, JSON.stringify(stats));
    }
    lab.fleet.remove();
  });
});
