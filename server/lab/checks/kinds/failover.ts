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
        const firstTry = new Map<string, number>();
        const back = new Map<string, number>();
        for (const c of victims) {
          c.socket.once('disconnect', () => lost.set(c.id, performance.now()));
          // When the client first knocks again: its backoff, before any network or server time.
          c.socket.io.once('reconnect_attempt', () => firstTry.set(c.id, performance.now()));
          c.socket.once('welcome', () => back.set(c.id, performance.now()));
        }
        await host.fault({ target: 'instance', serverId: victim, fault: 'crash' });
        await waitFor(6000, () => back.size === victims.length);
        const since = (m: Map<string, number>): number[] =>
          [...m].map(([id, at]) => at - (lost.get(id) ?? at)).sort((a, b) => a - b);
        const times = since(back);
        const within = times.filter((t) => t <= 5000).length;
        if (within < victims.length * 0.99)
          return fail(`only ${within} of ${victims.length} clients of ${victim} were back within 5 s`);
        const pct = (sorted: number[], q: number): number =>
          sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
        // The spread of the first attempts is the backoff's own: without jitter
        // every client knocks after the same delay, whatever the machine's load
        // (the timers fire together); with jitter 0.5 on 500 ms, p10–p90 ≈ 400 ms.
        // (The time until each is back also depends on retries after 502s,
        // which spread even a storm a little: it is reported, not judged.)
        const tries = since(firstTry);
        const spread = pct(tries, 0.9) - pct(tries, 0.1);
        const summary =
          `${victims.length} clients of ${victim} back within 5 s (p50 ${pct(times, 0.5).toFixed(0)} ms); ` +
          `first reconnect attempts p10 ${pct(tries, 0.1).toFixed(0)} ms, p90 ${pct(tries, 0.9).toFixed(0)} ms after the loss`;
        const measured = { spreadMs: Math.round(spread) };
        return spread >= 150
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
