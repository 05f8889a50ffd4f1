import { z } from 'zod';
import { connectAll, defineCheck, fail, int, newRoom, pass, sleep, waitFor, withFleet } from '../kind.ts';

export default defineCheck({
  about:
    'a client that loses its connection for a few seconds gets every message it missed, exactly once (connection state recovery)',
  params: z.object({ awaySeconds: int(1, 30, 3), messages: int(1, 50, 10) }),
  measures: { received: 'how many of the messages sent while it was away the client received' },
  async run(host, p) {
    return withFleet(
      host,
      async (fleet) => {
        const name = newRoom();
        const clients = await connectAll(fleet, 4, { rooms: [name] });
        if (!Array.isArray(clients)) return clients;
        const sender = clients[0]!;
        const away = clients.find((c) => c.serverId !== sender.serverId) ?? clients[1]!;
        const seen = new Map<string, number>();
        away.socket.on('chat', (m: { msgId: string }) => seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1));
        // A network cut, not a goodbye: the transport closes and the client stays away a while.
        const ms = p.awaySeconds * 1000;
        away.socket.io.reconnectionDelay(ms).reconnectionDelayMax(ms).randomizationFactor(0);
        const returned = new Promise<void>((resolve) => away.socket.once('connect', () => resolve()));
        away.socket.io.engine.close();
        const sent: string[] = [];
        for (let i = 0; i < p.messages; i++) {
          const ack = await fleet.send(sender.id, name, `while ${away.id} is away #${i + 1}`);
          if (ack.ok && ack.msgId) sent.push(ack.msgId);
          await sleep(Math.min(200, ms / (p.messages + 1)));
        }
        await Promise.race([returned, sleep(ms + 5000)]);
        await waitFor(2000, () => sent.every((m) => seen.has(m)));
        const missed = sent.filter((m) => !seen.has(m)).length;
        const twice = sent.filter((m) => (seen.get(m) ?? 0) > 1).length;
        const recovered = away.socket.recovered === true;
        const what = `${away.id} was away ${p.awaySeconds} s while ${sent.length} messages were sent`;
        const measured = { received: sent.length - missed };
        if (sent.length === 0) return fail(`${what}: nothing could be sent, so nothing was measured`);
        if (missed > 0) {
          // Say which half is missing: history to replay (the adapter), or sessions to restore (the server).
          const adapter = host.adapterSeen();
          const why = recovered
            ? 'the session came back, but what it missed did not: the adapter keeps no history to replay'
            : adapter === 'redis-streams'
              ? 'the Streams adapter keeps history, but the server did not restore the session: is connectionStateRecovery on?'
              : 'pub/sub delivers at most once, and nothing restored the session';
          return fail(`${what}: missed ${missed} of them (recovered: ${recovered ? 'yes' : 'no'}) — ${why}`, measured);
        }
        if (twice > 0) return fail(`${what}: got ${twice} of them twice`, measured);
        return recovered
          ? pass(`${what}: got all of them, once each, and its session was recovered`, measured)
          : fail(`${what}: got them, but its session was not recovered`, measured);
      },
      { reconnect: true },
    );
  },
});
