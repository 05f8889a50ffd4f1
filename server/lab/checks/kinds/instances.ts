import { z } from 'zod';
import { defineCheck, fail, int, pass } from '../kind.ts';

export default defineCheck({
  about: 'at least `min` instances are online',
  params: z.object({ min: int(1, 9, 2) }),
  async run(host, p) {
    const online = host.status().instances.filter((i) => i.online);
    const names = online.map((i) => i.serverId).join(', ') || 'none';
    return online.length >= p.min
      ? pass(`${online.length} instances online (${names})`)
      : fail(`${online.length} instance(s) online (${names}); this needs ${p.min}: switch to a stage with more`);
  },
});
