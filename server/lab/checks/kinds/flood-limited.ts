import { z } from 'zod';
import { defineCheck, fail, int, onlyTheOffenderPays } from '../kind.ts';

export default defineCheck({
  about: 'one client sending as fast as it can is slowed by a per-client rate limit; the others still chat',
  params: z.object({ messages: int(10, 1000, 200) }),
  async run(host, p) {
    const n = p.messages;
    return onlyTheOffenderPays(host, 'the flood', async (fleet, flooder, name) => {
      const acks = await Promise.all(Array.from({ length: n }, (_, i) => fleet.send(flooder.id, name, `flood ${i}`)));
      const limited = acks.filter((a) => !a.ok && /rate limit/.test(a.error ?? '')).length;
      return limited === 0
        ? fail(`${flooder.id} sent ${n} messages at once and every one was accepted: nothing limits a single client`)
        : `${flooder.id} sent ${n} at once: ${n - limited} accepted, ${limited} refused ("rate limit")`;
    });
  },
});
