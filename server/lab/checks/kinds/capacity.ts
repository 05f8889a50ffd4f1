import { z } from 'zod';
import { getMemory } from '../../health.ts';
import { defineCheck, fail, int, pass, servers, sleep, withFleet } from '../kind.ts';

export default defineCheck({
  about:
    'the stack takes `clients` idle connections, and each costs the instances at most `maxKb` KB of heap (measured after a forced GC)',
  params: z.object({ clients: int(10, 3000, 300), maxKb: int(1, 1000, 50) }),
  measures: { connected: 'how many of the clients connected' },
  async run(host, p) {
    const n = p.clients;
    // Leftover learner clients hold nginx connections the check needs: they go first, and the result says so.
    const cleared = host.clearFleet();
    const note = cleared > 0 ? ` (your ${cleared} fleet clients were removed first)` : '';
    if (cleared > 0) await sleep(500);
    const instances = host.status().instances.filter((i) => i.online);
    // Heap after a full GC, per instance: live data only. In PM2 cluster mode
    // the workers share a port and cannot be asked one by one: not measured there.
    const heaps = async (): Promise<Map<string, { heap: number; connections: number }>> => {
      const out = new Map<string, { heap: number; connections: number }>();
      for (const i of instances) {
        const m = await getMemory(i.port, { gc: true });
        if (m) out.set(i.serverId, { heap: m.heapUsed, connections: m.connections });
      }
      return out;
    };
    return withFleet(host, async (fleet) => {
      const before = await heaps();
      const clients = await fleet.add(n, { timeoutMs: 8000 });
      const down = clients.filter((c) => !c.socket.connected);
      if (down.length > 0) {
        const nginxSays = host
          .nginxErrors()
          .reverse()
          .find((l) => /worker_connections are not enough/.test(l));
        const why = nginxSays
          ? ` — nginx: "${nginxSays.replace(/^.*?\] \d+#\d+: (\*\d+ )?/, '').replace(/,? (while|reusing) .*$/, '')}": every proxied client uses two of them`
          : ` (${down[0]!.id}: ${down[0]!.lastError ?? 'no answer within 8 s'})`;
        return fail(`${n - down.length} of ${n} clients connected${why}${note}`, { connected: n - down.length });
      }
      await sleep(500); // let upgrades finish and polling buffers go
      const after = await heaps();
      const perConn: number[] = [];
      for (const [id, a] of after) {
        const b = before.get(id);
        const added = b ? a.connections - b.connections : 0;
        if (!b || added < 10) continue; // too few on this instance to say anything
        perConn.push((a.heap - b.heap) / added);
      }
      const spreadOver = `${n} of ${n} clients connected (${servers(clients)})${note}`;
      const measured = { connected: n };
      if (perConn.length === 0)
        return pass(
          `${spreadOver}; memory per connection not measured (instances could not be asked one by one)`,
          measured,
        );
      const kb = perConn.reduce((x, y) => x + y, 0) / perConn.length / 1024;
      const perGb = Math.floor((1024 * 1024) / Math.max(kb, 0.1));
      // Heap only: RSS also holds memory the GC has freed but not returned (npm run bench reports both).
      const perConnection = `${kb.toFixed(1)} KB of heap per idle connection`;
      return kb <= p.maxKb
        ? pass(
            `${spreadOver}; ${perConnection}: at that rate 1 GB of heap holds ≈ ${perGb.toLocaleString('en')} connections`,
            measured,
          )
        : fail(
            `${spreadOver}; ${perConnection}, more than ${p.maxKb} KB: something keeps data per connection`,
            measured,
          );
    });
  },
});
