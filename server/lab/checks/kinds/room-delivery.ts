import { z } from 'zod';
import type { FleetClient } from '../../fleet.ts';
import {
  connectAll,
  defineCheck,
  fail,
  int,
  newRoom,
  pass,
  servers,
  sleep,
  waitFor,
  where,
  withFleet,
} from '../kind.ts';

export default defineCheck({
  about:
    'every member of a room receives every message, whichever instance it is on; with `leavers`, that many ' +
    "members leave first, and the lab's telemetry must show no instance still writing to them",
  params: z.object({ clients: int(2, 50, 6), senders: int(1, 10, 3), leavers: int(0, 10, 0) }),
  measures: { deliveredPercent: 'the share of expected deliveries that arrived, in percent' },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const name = newRoom();
      const all = await connectAll(fleet, p.clients + p.leavers, { rooms: [name] });
      if (!Array.isArray(all)) return all;
      // Members who joined, then left: no one should write to them any more.
      const leavers = all.slice(all.length - p.leavers);
      const clients = all.slice(0, all.length - p.leavers);
      for (const c of leavers) c.socket.disconnect();
      if (leavers.length > 0) await sleep(200);

      const sent: { msgId: string; from: FleetClient }[] = [];
      for (const from of clients.slice(0, p.senders)) {
        const ack = await fleet.send(from.id, name, `check from ${from.id}`);
        if (!ack.ok) return fail(`${where(from)} could not send: ${ack.error}`);
        sent.push({ msgId: ack.msgId, from });
      }
      await waitFor(2000, () => clients.every((c) => sent.every((m) => c.received.has(m.msgId))));
      const missing = sent.flatMap((m) => clients.filter((c) => !c.received.has(m.msgId)).map((c) => ({ c, m })));
      const expected = sent.length * clients.length;
      const measured = { deliveredPercent: Math.round((100 * (expected - missing.length)) / expected) };
      if (missing.length > 0) {
        const { c, m } = missing[0]!;
        const crossing = c.serverId !== m.from.serverId;
        const adapter = host.status().instances.length > 1 && crossing;
        const why = !crossing
          ? ''
          : adapter && host.stage.adapter === 'none'
            ? ' — no adapter carries messages between instances'
            : ' — nothing carried it across';
        const more = missing.length > 1 ? ` (${missing.length} of ${expected} deliveries missing in all)` : '';
        return fail(`${where(c)} did not receive ${m.msgId} sent on ${m.from.serverId}${why}${more}`, measured);
      }
      if (leavers.length > 0) {
        // The instances' own reports (out of band) say whom each message was written to.
        await sleep(300);
        const ghosts = sent.flatMap((m) => {
          const view = host.message(m.msgId);
          return leavers
            .filter((l) => view?.delivered[l.id] !== undefined)
            .map((l) => ({ l, m, by: view!.delivered[l.id] }));
        });
        if (ghosts.length > 0) {
          const { l, m, by } = ghosts[0]!;
          return fail(
            `${by} still wrote ${m.msgId} to ${l.id}, which had left the room: the Set keeps sockets that are gone`,
            measured,
          );
        }
      }
      const left = leavers.length > 0 ? `; nothing was written to the ${leavers.length} who left` : '';
      return pass(`${clients.length} clients on ${servers(clients)} got all ${sent.length} messages${left}`, measured);
    });
  },
});
