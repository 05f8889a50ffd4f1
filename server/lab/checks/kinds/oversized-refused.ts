import { z } from 'zod';
import { defineCheck, fail, int, onlyTheOffenderPays } from '../kind.ts';

export default defineCheck({
  about: 'a message far over the limits is refused, or costs its sender the connection; the instance and everyone else carry on',
  params: z.object({ bytes: int(1000, 10_000_000, 100_000) }),
  async run(host, p) {
    const size = `a ${p.bytes.toLocaleString('en')}-character message`;
    return onlyTheOffenderPays(host, 'the big message', async (fleet, big, name) => {
      const closed = new Promise<string>((resolve) => big.socket.once('disconnect', resolve));
      const outcome = await Promise.race([
        fleet.send(big.id, name, 'x'.repeat(p.bytes)).then((a) => (a.ok ? 'accepted' : `refused: ${a.error}`)),
        closed.then((reason) => `connection closed (${reason})`),
      ]);
      return outcome === 'accepted' ? fail(`${size} was accepted and broadcast: no size limit`) : `${size}: ${outcome}`;
    });
  },
});
