import { z } from 'zod';
import { defineCheck, fail, int, onlyTheOffenderPays } from '../kind.ts';

export default defineCheck({
  about:
    'a message far over the limits is refused, or costs its sender the connection; the instance and everyone else carry on',
  params: z.object({
    bytes: int(1000, 10_000_000, 100_000),
    // The app's validator refuses long text too, but only after the whole packet
    // was read and parsed. With `closes`, only a transport-level refusal
    // (Socket.IO's maxHttpBufferSize) passes: the packet is never parsed.
    closes: z.boolean().default(false),
  }),
  async run(host, p) {
    const size = `a ${p.bytes.toLocaleString('en')}-character message`;
    return onlyTheOffenderPays(host, 'the big message', async (fleet, big, name) => {
      const closed = new Promise<string>((resolve) => big.socket.once('disconnect', resolve));
      const outcome = await Promise.race([
        fleet.send(big.id, name, 'x'.repeat(p.bytes)).then((a) => (a.ok ? 'accepted' : `refused: ${a.error}`)),
        closed.then((reason) => `connection closed (${reason})`),
      ]);
      if (outcome === 'accepted') return fail(`${size} was accepted and broadcast: no size limit`);
      if (p.closes && !outcome.startsWith('connection closed')) {
        return fail(
          `${size} was read and parsed in full before it was ${outcome}: no packet size limit (maxHttpBufferSize)`,
        );
      }
      return `${size}: ${outcome}`;
    });
  },
});
