import { z } from 'zod';
import { getHealth } from '../../health.ts';
import type { FleetClient } from '../../fleet.ts';
import {
  type CheckOutcome,
  connectSpread,
  defineCheck,
  fail,
  int,
  newRoom,
  pass,
  servers,
  sleep,
  waitFor,
  withFleet,
} from '../kind.ts';

export default defineCheck({
  about:
    'an instance stopped the way PM2 stops it (SIGINT, then SIGKILL after kill_timeout) drains: its clients move to the others and recover their sessions, with what they missed',
  params: z.object({ clients: int(4, 60, 9) }),
  measures: { recovered: 'whether every client of the stopped instance recovered its session' },
  async run(host, p) {
    return withFleet(
      host,
      async (fleet) => {
        const name = newRoom();
        const spread = await connectSpread(host, fleet, p.clients, { rooms: [name] });
        if (!('busy' in spread)) return spread;
        const { clients } = spread;
        const [victim, movers] = spread.busy;
        const sender = clients.find((c) => c.serverId !== victim)!;
        const port = host.status().instances.find((i) => i.serverId === victim)!.port;
        const seen = new Map<FleetClient, Map<string, number>>();
        for (const c of movers) {
          const counts = new Map<string, number>();
          seen.set(c, counts);
          c.socket.on('chat', (m: { msgId: string }) => counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1));
        }

        // A steady conversation from another instance, all through the stop.
        const sent: string[] = [];
        let talking = true;
        const talk = (async () => {
          for (let i = 1; talking; i++) {
            const ack = await fleet.send(sender.id, name, `during the drain #${i}`);
            if (ack.ok && ack.msgId) sent.push(ack.msgId);
            await sleep(50);
          }
        })();

        // Stop it as PM2 would, and watch: how long does it answer /health as draining?
        const began = performance.now();
        let drainingSeen = 0;
        const stopped = host.fault({ target: 'instance', serverId: victim, fault: 'stop' });
        let stopDone = false;
        void stopped.finally(() => (stopDone = true)).catch(() => {});
        while (!stopDone) {
          const h = await getHealth(port, { timeoutMs: 300 });
          if (h?.serverId === victim && h.draining) drainingSeen = performance.now() - began;
          await sleep(100);
        }
        try {
          await stopped;
          await waitFor(10_000, () =>
            movers.every((c) => c.socket.connected && c.serverId !== null && c.serverId !== victim),
          );
          await sleep(500); // a few more messages after everyone is back
          talking = false;
          await talk;
          await waitFor(2000, () => movers.every((c) => sent.every((m) => seen.get(c)!.has(m))));
          return verdict();
        } finally {
          talking = false;
          await host.fault({ target: 'instance', serverId: victim, fault: 'start' }).catch(() => {});
          // nginx has marked the stopped instance as failed. After fail_timeout (2 s) it
          // sends ONE request there to try it, and meanwhile passes the others by; a
          // polling session started during that try can have its next request land on
          // the other side ("Session ID unknown"). So: wait, then let one client that
          // hashes to it reconnect alone, before the next check connects a crowd.
          await sleep(2500);
          const first = movers[0]!;
          first.socket.disconnect().connect();
          await waitFor(3000, () => first.socket.connected && first.serverId !== null);
        }

        function verdict(): CheckOutcome {
          const { drainMs } = host.stage;
          const drained = `${victim} drained for ${(drainingSeen / 1000).toFixed(1)} s (its drainMs: ${drainMs})`;
          const away = movers.filter((c) => !c.socket.connected || c.serverId === victim);
          if (away.length > 0)
            return fail(`${drained}; ${away[0]!.id} did not come back on another instance within 10 s`);
          const missedBy = (c: FleetClient): number => sent.filter((m) => !seen.get(c)!.has(m)).length;
          const moved = `its ${movers.length} clients moved to ${servers(movers)}`;
          const lost = movers.find((c) => !c.socket.recovered);
          const measured = { recovered: !lost };
          if (lost) {
            const cut =
              drainingSeen < 100
                ? ' — it never drained: it exited at once, so no session was saved (its SIGINT handler, server/app/main.ts)'
                : drainingSeen + 400 < drainMs
                  ? ' — the drain was cut short: PM2 sends SIGKILL kill_timeout ms after its SIGINT (ecosystem.config.js), so no session was saved'
                  : host.stage.recovery
                    ? ' — its session was not found'
                    : ' — without connection state recovery nothing replays the gap';
            return fail(
              `${drained}; ${moved}, but ${lost.id} started a new session and missed ${missedBy(lost)} of ${sent.length} messages${cut}`,
              measured,
            );
          }
          const twice = movers.find((c) => [...seen.get(c)!.values()].some((n) => n > 1));
          if (twice) return fail(`${drained}; ${moved}, but ${twice.id} got a message twice`, measured);
          // Recovery replays what the stream holds after the client's last offset. A message
          // broadcast in the instant between that read and the socket rejoining its rooms
          // can still slip through: the maintainers call recovery a best effort, so this is
          // reported, not failed.
          const gap = movers.map((c) => ({ c, n: missedBy(c) })).find((x) => x.n > 0);
          if (gap)
            return pass(
              `${drained}; ${moved}, every session recovered; ${gap.c.id} still missed ${gap.n} of ${sent.length}, sent in the instant its session was being restored`,
              measured,
            );
          return pass(
            `${drained}; ${moved}, every session recovered, and all ${sent.length} messages arrived, once each`,
            measured,
          );
        }
      },
      { reconnect: true },
    );
  },
});
