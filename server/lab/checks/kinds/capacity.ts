import { z } from 'zod';
import { getMemory } from '../../health.ts';
import { defineCheck, fail, int, pass, sleep } from '../kind.ts';
import { nameTheWall } from '../walls.ts';

const fmt = (n: number): string => Math.round(n).toLocaleString('en');

export default defineCheck({
  about:
    "the stack takes `clients` idle WebSocket clients (each from its own source address, in worker processes that keep nothing), and each costs the instances at most `maxKb` KB of heap (after a forced GC); on failure it names the limit hit, from nginx's error log and what the clients were told",
  params: z.object({
    clients: int(10, 20_000, 10_000),
    maxKb: int(1, 1000, 50),
    /** Stop starting clients once this many failed: the wall is found, the rest would only wait. */
    stopAfterFailures: int(1, 20_000, 500),
  }),
  measures: {
    connected: 'how many of the clients were connected at the end',
    connPerSec: 'connections per second, from the first attempt to the last welcome',
    kbPerConnection: 'KB of instance heap per added connection, after a forced GC (absent if too few connected)',
    wall: 'the limit hit: none, nginx-worker-connections, nginx-open-files, instance-max-connections, client-open-files, timeout or unknown',
  },
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
        // Twice: the first collection can leave garbage that only a second one frees.
        await getMemory(i.port, { gc: true, timeoutMs: 10_000 });
        const m = await getMemory(i.port, { gc: true, timeoutMs: 10_000 });
        if (m) out.set(i.serverId, { heap: m.heapUsed, connections: m.connections });
      }
      return out;
    };
    const before = await heaps();
    const nginxSince = host.nginxErrorsFromNow();
    // Only what nginx said about the config it runs now, not about an earlier one.
    const nginxBefore = host.nginxErrorsSinceConfig();
    const crowd = await host.crowd(n, { stopAfterFailures: p.stopAfterFailures });
    try {
      // Let the last upgrades settle and late drops (nginx reusing connections) show.
      await sleep(1000);
      await crowd.refresh();
      const t = crowd.totals();
      if (t.attempted === 0) throw new Error('the crowd started no client (its worker processes did not run)');
      const after = await heaps();
      const perConn: number[] = [];
      for (const [id, a] of after) {
        const b = before.get(id);
        const added = b ? a.connections - b.connections : 0;
        if (!b || added < 30) continue; // too few on this instance to say anything
        perConn.push((a.heap - b.heap) / added);
      }
      const kb = perConn.length > 0 ? perConn.reduce((x, y) => x + y, 0) / perConn.length / 1024 : null;
      const rate = t.seconds > 0 ? t.connected / t.seconds : 0;
      const spread = Object.entries(t.byServer)
        .filter(([, c]) => c > 0)
        .sort()
        .map(([s, c]) => `${s}×${fmt(c)}`)
        .join(', ');
      const head = `${fmt(t.connected)} of ${fmt(n)} clients connected in ${t.seconds.toFixed(1)} s (${fmt(rate)} conn/s${spread ? `; ${spread}` : ''})${note}`;
      const perConnection = kb === null ? '' : `; ${kb.toFixed(1)} KB of heap per connection after GC`;
      const measured: Record<string, number | string> = {
        connected: t.connected,
        connPerSec: Math.round(rate),
        wall: 'none',
        ...(kb === null ? {} : { kbPerConnection: Math.round(kb * 10) / 10 }),
      };
      if (t.connected < n) {
        const wall = nameTheWall({ nginxDuring: nginxSince(), nginxBefore, clientErrors: t.errors });
        measured.wall = wall?.id ?? 'unknown';
        const stopped = t.attempted < n ? `, stopped after ${fmt(t.failed)} failures` : '';
        return fail(
          `${head}${stopped}${perConnection}. Wall: ${wall?.line ?? 'clients were lost with no error reported'}`,
          measured,
        );
      }
      if (kb === null)
        return pass(`${head}; memory per connection not measured (instances could not be asked one by one)`, measured);
      if (kb > p.maxKb)
        return fail(`${head}${perConnection}, more than ${p.maxKb} KB: something keeps data per connection`, measured);
      // Heap only: RSS also holds memory the GC has freed but not returned (npm run bench reports both).
      return pass(`${head}${perConnection}: 1 GB of heap holds ≈ ${fmt((1024 * 1024) / Math.max(kb, 0.1))}`, measured);
    } finally {
      await crowd.close();
    }
  },
});
