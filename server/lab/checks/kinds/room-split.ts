import { z } from 'zod';
import type { FleetClient } from '../../fleet.ts';
import { connectAll, defineCheck, fail, int, newRoom, pass, sleep, where, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'with no adapter, a message sent on one instance reaches only the room members on that instance',
  params: z.object({ clients: int(4, 50, 6) }),
  measures: { reached: "how many of the room's members received a message sent on one instance" },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const name = newRoom();
      const clients = await connectAll(fleet, p.clients, { rooms: [name] });
      if (!Array.isArray(clients)) return clients;
      const [from] = clients as [FleetClient];
      if (new Set(clients.map((c) => c.serverId)).size < 2) {
        return fail(
          `all ${clients.length} clients are on ${from.serverId}: with one instance there is nothing to split`,
        );
      }
      const ack = await fleet.send(from.id, name, 'can everyone hear me?');
      if (!ack.ok) return fail(`${where(from)} could not send: ${ack.error}`);
      await sleep(500); // time enough for any instance that could deliver it
      const local = clients.filter((c) => c.serverId === from.serverId);
      const remote = clients.filter((c) => c.serverId !== from.serverId);
      const heardRemotely = remote.filter((c) => c.received.has(ack.msgId));
      const measured = { reached: clients.filter((c) => c.received.has(ack.msgId)).length };
      if (heardRemotely.length > 0)
        return fail(
          `${where(heardRemotely[0]!)} received a message sent on ${from.serverId}: an adapter joins the instances, so there is no split`,
          measured,
        );
      const deafLocally = local.filter((c) => !c.received.has(ack.msgId));
      if (deafLocally.length > 0)
        return fail(`${where(deafLocally[0]!)} did not receive a message sent on its own instance`, measured);
      return pass(
        `sent on ${from.serverId}: reached ${local.map((c) => c.id).join(', ')} (${from.serverId}); never reached ${remote.map(where).join(', ')}`,
        measured,
      );
    });
  },
});
