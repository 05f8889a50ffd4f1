import { z } from 'zod';
import { connectAll, defineCheck, int, pass, servers, transports, withFleet } from '../kind.ts';

export default defineCheck({
  about: "every client connects through the lab's entry point (nginx, or the instances)",
  params: z.object({ clients: int(1, 50, 6), transports }),
  measures: { connected: 'how many of the clients connected' },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const clients = await connectAll(fleet, p.clients, p.transports ? { transports: p.transports } : {});
      if (!Array.isArray(clients)) return clients;
      return pass(`${clients.length} of ${clients.length} clients connected (${servers(clients)})`, {
        connected: clients.length,
      });
    });
  },
});
