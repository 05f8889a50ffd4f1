import { z } from 'zod';
import { connectAll, defineCheck, fail, int, oneOf, pass, servers, withFleet } from '../kind.ts';

export default defineCheck({
  about:
    'clients land on at least `min` instances; `source`: "distinct" (each from its own /24) or "shared" (all from 127.0.0.1, like an office behind one NAT)',
  params: z.object({ clients: int(2, 50, 6), min: int(2, 9, 2), source: oneOf(['distinct', 'shared'], 'distinct') }),
  measures: { instances: 'over how many instances the clients landed' },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const source = p.source as 'distinct' | 'shared';
      const clients = await connectAll(fleet, p.clients, { source });
      if (!Array.isArray(clients)) return clients;
      const from = source === 'shared' ? 'all from 127.0.0.1' : 'from different /24s';
      const n = new Set(clients.map((c) => c.serverId)).size;
      if (n >= p.min)
        return pass(`${clients.length} clients ${from} spread over ${servers(clients)}`, { instances: n });
      const why =
        source === 'shared' && host.stage.loadBalancer === 'ip-hash'
          ? ': ip_hash keys on the address, and they share one'
          : '';
      return fail(
        `${clients.length} clients ${from} all landed on ${servers(clients)}; expected at least ${p.min} instances${why}`,
        { instances: n },
      );
    });
  },
});
