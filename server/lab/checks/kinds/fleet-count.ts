import { z } from 'zod';
import { getHealth } from '../../health.ts';
import { connectAll, defineCheck, fail, int, pass, sleep, where, withFleet } from '../kind.ts';

export default defineCheck({
  about:
    'asked on any instance, "how many are connected?" counts every instance, and agrees with each instance\'s /health',
  params: z.object({ clients: int(2, 50, 6) }),
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const clients = await connectAll(fleet, p.clients);
      if (!Array.isArray(clients)) return clients;
      const asker = clients[0]!;
      await sleep(300); // let the instances finish with clients that just left (an earlier check's)
      const reply = await fleet.stats(asker.id);
      if (!reply.ok) return fail(`${where(asker)} asked how many are connected: ${reply.error}`);
      // The truth, instance by instance, straight from each one's /health.
      const truth = new Map<string, number>();
      for (const i of host.status().instances.filter((i) => i.online)) {
        const h = await getHealth(i.port);
        if (h) truth.set(h.serverId, h.connections);
      }
      const missing = [...truth.keys()].filter((s) => !(s in reply.servers));
      const said = Object.entries(reply.servers)
        .sort()
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ');
      if (missing.length > 0)
        return fail(
          `${where(asker)} was told ${said} (total ${reply.total}); ${missing.join(', ')} not counted, though /health says ${missing.map((s) => `${s} has ${truth.get(s)}`).join(', ')} — the count came from one instance`,
        );
      const off = [...truth].find(([s, n]) => reply.servers[s] !== n);
      if (off)
        return fail(`${where(asker)} was told ${off[0]} has ${reply.servers[off[0]]}, but its /health says ${off[1]}`);
      return pass(`${where(asker)} was told ${said}: ${reply.total} in all, as every instance's /health says`);
    });
  },
});
