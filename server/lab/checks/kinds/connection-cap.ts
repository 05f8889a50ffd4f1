import { z } from 'zod';
import { defineCheck, fail, int, pass, sleep, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'an instance refuses clients beyond its limit with a clear reason, and those already in are unaffected',
  params: z.object({ clients: int(2, 500, 30) }),
  measures: { admitted: 'how many of the clients the instance let in' },
  async run(host, p) {
    // The learner's own clients would fill the instance before the check starts
    // and leave nothing to measure: they go first, and the result says so.
    const cleared = host.clearFleet();
    const note = cleared > 0 ? ` (your ${cleared} fleet clients were removed first)` : '';
    await sleep(cleared > 0 ? 300 : 0);
    return withFleet(host, async (fleet) => {
      // All from one address: ip_hash puts them on one instance (without nginx, client 1's instance).
      const n = p.clients;
      const clients = await fleet.add(n, { source: 'shared', timeoutMs: 6000 });
      const inside = clients.filter((c) => c.socket.connected);
      const refused = clients.filter((c) => !c.socket.connected);
      const measured = { admitted: inside.length };
      if (inside.length === 0) {
        const why = refused[0]?.lastError ?? 'no answer';
        return fail(`none of ${n} clients from one address was let in (${why}): nothing was measured${note}`, measured);
      }
      const where = inside[0]!.serverId ?? 'the instance';
      if (refused.length === 0) {
        return fail(
          `all ${n} clients were let in by ${where}: nothing limits connections per instance${note}`,
          measured,
        );
      }
      const unclear = refused.find((c) => !/is full/.test(c.lastError ?? ''));
      if (unclear)
        return fail(`${unclear.id} was refused without a clear reason: ${unclear.lastError ?? 'no answer'}`, measured);
      await sleep(300);
      const dropped = inside.filter((c) => !c.socket.connected);
      if (dropped.length > 0)
        return fail(`${dropped[0]!.id} was let in, then dropped when the instance filled up`, measured);
      return pass(
        `${where} let ${inside.length} in and refused ${refused.length}: "${refused[0]!.lastError}"${note}`,
        measured,
      );
    });
  },
});
