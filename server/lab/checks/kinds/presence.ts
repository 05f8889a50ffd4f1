import { z } from 'zod';
import { connectAll, defineCheck, fail, int, newRoom, pass, servers, where, withFleet } from '../kind.ts';

export default defineCheck({
  about: 'asked on any instance, "who is in this room?" names every member, on every instance',
  params: z.object({ clients: int(2, 50, 6) }),
  measures: { named: 'how many of the members the answer named' },
  async run(host, p) {
    return withFleet(host, async (fleet) => {
      const name = newRoom();
      const clients = await connectAll(fleet, p.clients, { rooms: [name] });
      if (!Array.isArray(clients)) return clients;
      const asker = clients[0]!;
      const reply = await fleet.who(asker.id, name);
      if (!reply.ok) return fail(`${where(asker)} asked who is in the room: ${reply.error}`);
      const listed = new Map(reply.members.map((m) => [m.name, m.serverId]));
      const measured = { named: clients.filter((c) => listed.has(c.id)).length };
      const absent = clients.filter((c) => !listed.has(c.id));
      const wrong = clients.find((c) => listed.has(c.id) && listed.get(c.id) !== c.serverId);
      if (absent.length > 0) {
        const elsewhere = absent.every((c) => c.serverId !== asker.serverId);
        const why = elsewhere
          ? ` — the ${absent.length} missing are all on other instances: the answer came from ${asker.serverId}'s memory alone`
          : '';
        return fail(
          `${where(asker)} asked who is in the room: ${reply.members.length} of ${clients.length} named; not ${absent.slice(0, 3).map(where).join(', ')}${why}`,
          measured,
        );
      }
      if (wrong)
        return fail(`${wrong.id} is on ${wrong.serverId}, but the answer says ${listed.get(wrong.id)}`, measured);
      return pass(
        `${where(asker)} asked who is in the room: all ${clients.length} named, on ${servers(clients)}`,
        measured,
      );
    });
  },
});
