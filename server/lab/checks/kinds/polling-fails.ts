import { z } from 'zod';
import { defineCheck, fail, int, pass, tryPolling } from '../kind.ts';

export default defineCheck({
  about: 'through a load balancer that is not sticky, HTTP long-polling handshakes fail with 400 "Session ID unknown"',
  params: z.object({ clients: int(2, 20, 4) }),
  measures: { connected: 'how many of the polling handshakes connected' },
  async run(host, p) {
    const target = host.target();
    if (target.via !== 'nginx')
      return fail(
        'this stage has no load balancer: clients connect straight to an instance, so every request of a session reaches the same one',
      );
    const n = p.clients;
    const results: (string | null)[] = [];
    // One at a time. Other clients' requests may interleave and, now and then,
    // send a session's second request back to the same instance: so the
    // check asks for most handshakes to fail, not all.
    for (let i = 1; i <= n; i++) results.push(await tryPolling(target.urlFor(i), `poll${i}`));
    const other = results.find((r) => r !== null && !r.includes('HTTP 400'));
    if (other)
      return fail(`a polling handshake failed, but not with HTTP 400: ${other}`, {
        connected: results.filter((r) => r === null).length,
      });
    const failed = results.filter((r) => r !== null).length;
    const measured = { connected: n - failed };
    if (failed * 2 < n)
      return fail(
        `${n - failed} of ${n} polling handshakes connected: the load balancer keeps a session's requests on one instance (sticky)`,
        measured,
      );
    return pass(`${failed} of ${n} polling handshakes failed with HTTP 400 (Session ID unknown)`, measured);
  },
});
