import { z } from 'zod';
import type { FleetClient } from '../../fleet.ts';
import { connectAll, defineCheck, fail, int, pass, sleep, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'connected clients that say nothing stay connected (heartbeats keep the proxy from cutting them)',
  params: z.object({ clients: int(1, 20, 3), seconds: int(1, 120, 8) }),
  measures: { dropped: 'how many of the idle clients lost their connection' },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const clients = await connectAll(fleet, p.clients);
      if (!Array.isArray(clients)) return clients;
      const start = performance.now();
      const drops: { c: FleetClient; after: number; reason: string }[] = [];
      for (const c of clients)
        c.socket.once('disconnect', (reason) => drops.push({ c, after: performance.now() - start, reason }));
      await sleep(p.seconds * 1000);
      const measured = { dropped: new Set(drops.map((d) => d.c)).size };
      if (drops.length === 0)
        return pass(`${clients.length} idle clients stayed connected for ${p.seconds} s`, measured);
      const first = drops.sort((a, b) => a.after - b.after)[0]!;
      return fail(
        `${first.c.id} lost its connection after ${(first.after / 1000).toFixed(1)} s idle (${first.reason}): something between client and server gave up before the next heartbeat`,
        measured,
      );
    });
  },
});
