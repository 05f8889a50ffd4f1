import { z } from 'zod';
import { connectAll, defineCheck, fail, int, pass, waitFor, where, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'clients start on HTTP long-polling and upgrade to WebSocket',
  params: z.object({ clients: int(1, 50, 4) }),
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const clients = await connectAll(fleet, p.clients, { transports: ['polling', 'websocket'] });
      if (!Array.isArray(clients)) return clients;
      await waitFor(2000, () => clients.every((c) => c.transport === 'websocket'));
      const stuck = clients.filter((c) => c.transport !== 'websocket');
      return stuck.length === 0
        ? pass(`${clients.length} of ${clients.length} clients upgraded to websocket`)
        : fail(
            `${where(stuck[0]!)} stayed on ${stuck[0]!.transport ?? 'nothing'}: does the proxy forward the Upgrade and Connection headers?`,
          );
    });
  },
});
