import { z } from 'zod';
import { connectAll, defineCheck, fail, int, pass, servers, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'clients sharing one address (one NAT) all land on the same instance under ip_hash',
  params: z.object({ clients: int(2, 50, 6) }),
  measures: { instances: 'over how many instances the clients from one address landed' },
  async run(host, p) {
    if (host.status().instances.filter((i) => i.online).length < 2)
      return fail('only one instance is online: nothing to pile up on');
    return withFleet(host, async (fleet) => {
      const clients = await connectAll(fleet, p.clients, { source: 'shared' });
      if (!Array.isArray(clients)) return clients;
      const n = new Set(clients.map((c) => c.serverId)).size;
      return n === 1
        ? pass(`${clients.length} clients all from 127.0.0.1 all landed on ${clients[0]!.serverId}`, { instances: n })
        : fail(
            `${clients.length} clients from one address were spread over ${servers(clients)}: the balancer does not hash on the address`,
            { instances: n },
          );
    });
  },
});
