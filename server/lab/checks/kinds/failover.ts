import { z } from 'zod';
import { connectSpread, defineCheck, fail, int, pass, waitFor, withFleet } from '../kind.ts';

export default defineCheck({
  about:
    'when an instance dies, its clients reconnect to the others within 5 s, at spread-out moments (backoff with jitter), not all at once',
  params: z.object({ clients: int(6, 300, 60) }),
  measures: { spreadMs: 'ms between the 10th and the 90th percentile of the reconnections' },
  async run(host, p) {
    return withFleet(
      host,
      async (fleet) => {
        const connected = await connectSpread(host, fleet, p.clients);
        if (!('busy' in connected)) return connected;
        const [victim, victims] = connected.busy;
        const lost = new Map<string, number>();
        const back = new Map<string, number>();
        for (const c of victims) {
          c.socket.once('disconnect', () => lost.set(c.id, performance.now()));
          c.socket.once('welcome', () => back.set(c.id, performance.now()));
        }
        await host.fault({ target: 'instance', serverId: victim, fault: 'crash' });
        await waitFor(6000, () => back.size === victims.length);
        const times = [...back].map(([id, at]) => at - (lost.get(id) ?? at)).sort((a, b) => a - b);
        const within = times.filter((t) => t <= 5000).length;
        if (within < victims.length * 0.99)
          return fail(`only ${within} of ${victims.length} clients of ${victim} were back within 5 s`);
        const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
        const spread = at(0.9) - at(0.1);
        const summary = `${victims.length} clients of ${victim} back within 5 s; reconnect p10 ${at(0.1).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms`;
        // Jitter 0.5 on a 500 ms delay spreads p10–p90 over ≈ 400 ms; a storm under
        // heavy CPU load still stays well under 250.
        const measured = { spreadMs: Math.round(spread) };
        return spread >= 250
          ? pass(`${summary}: spread over ${spread.toFixed(0)} ms`, measured)
          : fail(
              `${summary}: all within ${spread.toFixed(0)} ms of each other — a reconnect storm; give the backoff some jitter`,
              measured,
            );
      },
      { reconnect: true },
    );
  },
});
