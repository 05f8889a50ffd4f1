// The live topology: nginx on top, the instances in a row with their clients
// inside, Redis below. Updated by key (serverId, socketId), so a lab with a
// thousand clients changes a few nodes per update, not a thousand.
//
// Above a threshold of clients, drawing each one costs the page its frame
// rate and shows nobody anything: the view aggregates. Each instance shows
// its exact count (and per transport), a bounded sample of chips, and the
// search box answers "where is client X?" for every client, drawn or not.

import type { ClientView, HubSnapshot, InstanceView } from '../../server/lab/telemetry/hub.ts';
import { button, el } from './dom.ts';

export type FaultRequest =
  | { target: 'instance'; serverId: string; fault: 'crash' | 'stop' | 'start' }
  | { target: 'redis'; fault: 'stop' | 'start' };

interface Card {
  node: HTMLElement;
  meta: HTMLElement;
  count: HTMLElement;
  list: HTMLElement;
  more: HTMLElement;
}

export interface TopologyOptions {
  /** Draw every client up to this many in the lab; above it, aggregate. */
  aggregateAbove: number;
  /** Chips drawn per instance once aggregated. */
  samplePerInstance: number;
}

/**
 * 300 is a judgement, not a measured limit: 1,000 chips drawn one by one held
 * ≈ 57 fps here, but past a few hundred the wall of names tells a learner
 * nothing, and every chip is layout work on each redraw. Tune it with
 * `npm run bench -- --only view` and `?aggregate=N`.
 */
export const DEFAULT_TOPOLOGY: TopologyOptions = { aggregateAbove: 300, samplePerInstance: 24 };

const MOVE_NOTE_MS = 6000;
const MAX_RESULTS = 8;

interface Tally {
  total: number;
  websocket: number;
  polling: number;
}

export class TopologyView {
  readonly nginx = el('div', { class: 'box nginx', 'data-testid': 'nginx' });
  readonly redis = el('div', { class: 'box redis', 'data-testid': 'redis' });
  private readonly row = el('div', { class: 'instances' });
  private readonly summary = el('span', { class: 'summary', 'data-testid': 'topology-summary' });
  private readonly search = el('input', {
    type: 'search',
    placeholder: 'where is client…? (name)',
    'aria-label': 'Find a client by name',
    'data-testid': 'client-search',
    size: '18',
  });
  private readonly results = el('ul', { class: 'search-results', 'data-testid': 'client-search-result' });
  /** What the search answers from: the latest state drawn. */
  private latest: HubSnapshot | null = null;
  /** Client ids of the learner's fleet; everyone else (their own tabs, scripts) is drawn first. */
  private fleet = new Set<string>();
  private readonly cards = new Map<string, Card>();
  private readonly chips = new Map<string, HTMLElement>();
  /** clientId → the instance it was last seen on, to show moves. */
  private readonly lastSeen = new Map<string, { serverId: string; gone: number }>();

  constructor(
    readonly root: HTMLElement,
    private readonly onFault: (f: FaultRequest) => void,
    private readonly opts: TopologyOptions = DEFAULT_TOPOLOGY,
  ) {
    this.search.addEventListener('input', () => this.showSearch());
    root.replaceChildren(
      el('div', { class: 'topology-head' }, this.summary, this.search, this.results),
      el('div', { class: 'tier' }, this.nginx),
      this.row,
      el('div', { class: 'tier' }, this.redis),
    );
  }

  /** The learner's fleet (from the 'fleet' events): sampled after everyone else. */
  setFleet(ids: string[]): void {
    this.fleet = new Set(ids);
  }

  card(serverId: string): HTMLElement | undefined {
    return this.cards.get(serverId)?.node;
  }

  chip(socketId: string): HTMLElement | undefined {
    return this.chips.get(socketId);
  }

  update(snap: HubSnapshot): void {
    this.nginx.textContent = snap.nginx
      ? `nginx :${snap.nginx.port} · ${snap.nginx.mode}`
      : 'no load balancer: clients go straight to an instance';
    this.nginx.classList.toggle('absent', !snap.nginx);
    this.updateRedis(snap);

    const seen = new Set<string>();
    for (const instance of snap.instances) {
      seen.add(instance.serverId);
      this.updateCard(instance);
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.node.remove();
        this.cards.delete(id);
      }
    }

    const tallies = tally(snap.clients);
    for (const instance of snap.instances) this.updateCount(instance, tallies.get(instance.serverId));
    const aggregated = snap.clients.length > this.opts.aggregateAbove;
    const drawn = aggregated ? this.sample(snap.clients) : null;
    this.root.dataset.aggregated = String(aggregated);
    this.summary.textContent = aggregated
      ? `${snap.clients.length} clients: too many to draw one by one. Each instance shows its count and a sample of ${this.opts.samplePerInstance}.`
      : `${snap.clients.length} client${snap.clients.length === 1 ? '' : 's'}`;

    const now = Date.now();
    const present = new Set<string>();
    for (const c of snap.clients) {
      present.add(c.socketId);
      if (drawn && !drawn.has(c.socketId)) continue;
      let chip = this.chips.get(c.socketId);
      const card = this.cards.get(c.serverId);
      if (!card) continue;
      if (!chip) {
        chip = el(
          'li',
          {
            class: 'client',
            'data-client-id': c.clientId,
            'data-server-id': c.serverId,
            title: `${c.clientId} from ${c.address}`,
          },
          el('span', { class: 'name' }, c.clientId),
          el('span', { class: 'on' }, ` ${c.serverId}`),
        );
        const before = this.lastSeen.get(c.clientId);
        if (before && before.serverId !== c.serverId && now - before.gone < MOVE_NOTE_MS) {
          chip.classList.add('moved');
          chip.append(el('span', { class: 'from' }, ` ← ${before.serverId}`));
          setTimeout(() => chip?.classList.remove('moved'), MOVE_NOTE_MS);
        }
        this.chips.set(c.socketId, chip);
        card.list.append(chip);
      }
      chip.classList.toggle('polling', c.transport === 'polling');
      chip.classList.toggle('websocket', c.transport === 'websocket');
      chip.dataset.transport = c.transport;
    }
    for (const [socketId, chip] of this.chips) {
      if (!present.has(socketId) || (drawn && !drawn.has(socketId))) {
        // Only a client that left counts as gone (to show its move); one dropped from the sample did not move.
        if (!present.has(socketId))
          this.lastSeen.set(chip.dataset.clientId!, { serverId: chip.dataset.serverId!, gone: now });
        chip.remove();
        this.chips.delete(socketId);
      }
    }
    for (const [serverId, card] of this.cards) {
      const hidden = (tallies.get(serverId)?.total ?? 0) - card.list.childElementCount;
      card.more.textContent = hidden > 0 ? `… and ${hidden} more: find one by name above` : '';
    }
    this.latest = snap;
    if (this.search.value.trim()) this.showSearch();
  }

  /**
   * Which clients get a chip once aggregated: per instance, at most
   * samplePerInstance. Those outside the fleet (a learner's own tab or
   * script) first, then those already drawn (so the sample holds still
   * instead of flickering), then the rest in arrival order.
   */
  private sample(clients: ClientView[]): Set<string> {
    const drawn = new Set<string>();
    const used = new Map<string, number>();
    const passes: ((c: ClientView) => boolean)[] = [
      (c) => !this.fleet.has(c.clientId),
      (c) => this.chips.has(c.socketId),
      () => true,
    ];
    for (const pass of passes) {
      for (const c of clients) {
        const n = used.get(c.serverId) ?? 0;
        if (n >= this.opts.samplePerInstance || drawn.has(c.socketId) || !pass(c)) continue;
        drawn.add(c.socketId);
        used.set(c.serverId, n + 1);
      }
    }
    return drawn;
  }

  /** Where is the client the learner typed? Exact name first, then names that start with it, then contain it. */
  private showSearch(): void {
    const query = this.search.value.trim();
    const clients = this.latest?.clients ?? [];
    if (!query) {
      this.results.replaceChildren();
      return;
    }
    const rank = (c: ClientView): number =>
      c.clientId === query ? 0 : c.clientId.startsWith(query) ? 1 : c.clientId.includes(query) ? 2 : 3;
    const found: ClientView[] = [];
    let matches = 0;
    for (let r = 0; r < 3; r++)
      for (const c of clients) {
        if (rank(c) !== r) continue;
        matches++;
        if (found.length < MAX_RESULTS) found.push(c);
      }
    const rows = found.map((c) =>
      el(
        'li',
        {
          'data-result-client-id': c.clientId,
          'data-result-server-id': c.serverId,
          'data-drawn': String(this.chips.has(c.socketId)),
        },
        el('strong', {}, c.clientId),
        ` is on ${c.serverId} · ${c.transport} · ${c.rooms.length ? `rooms ${c.rooms.map((r) => `#${r}`).join(', ')}` : 'in no room'} · from ${c.address}`,
        this.chips.has(c.socketId) ? '' : ' (not drawn: counted on its instance)',
      ),
    );
    if (matches > found.length) rows.push(el('li', { class: 'more' }, `… ${matches - found.length} more match`));
    this.results.replaceChildren(
      ...(rows.length ? rows : [el('li', { class: 'none' }, `no connected client is named like "${query}"`)]),
    );
  }

  private updateCount(i: InstanceView, t: Tally | undefined): void {
    const card = this.cards.get(i.serverId);
    if (!card) return;
    const { total, websocket, polling } = t ?? { total: 0, websocket: 0, polling: 0 };
    card.count.dataset.count = String(total);
    card.count.dataset.websocket = String(websocket);
    card.count.dataset.polling = String(polling);
    card.count.textContent = i.online
      ? `${total} connection${total === 1 ? '' : 's'} · ${websocket} websocket · ${polling} polling${i.draining ? ' · draining' : ''}`
      : 'down';
  }

  private updateRedis(snap: HubSnapshot): void {
    const running = snap.redis?.running ?? false;
    this.redis.replaceChildren(
      el(
        'span',
        {},
        snap.redis ? `redis :${snap.redis.port} · ${running ? 'running' : 'stopped'}` : 'no redis in this stage',
      ),
      ...(snap.redis
        ? [
            button(
              running ? 'stop' : 'start',
              () => this.onFault({ target: 'redis', fault: running ? 'stop' : 'start' }),
              { class: 'fault', 'data-testid': 'redis-toggle' },
            ),
          ]
        : []),
    );
    this.redis.classList.toggle('absent', !snap.redis);
    this.redis.classList.toggle('down', !!snap.redis && !running);
  }

  private updateCard(i: InstanceView): void {
    let card = this.cards.get(i.serverId);
    if (!card) {
      const meta = el('p', { class: 'meta' });
      const count = el('p', { class: 'count', 'data-testid': `instance-count-${i.serverId}` });
      const list = el('ul', { class: 'clients' });
      const more = el('p', { class: 'more' });
      const fault = (f: 'crash' | 'stop' | 'start'): void =>
        this.onFault({ target: 'instance', serverId: i.serverId, fault: f });
      const actions = el(
        'div',
        { class: 'actions' },
        button('crash', () => fault('crash'), {
          class: 'fault',
          title: 'kill -9; PM2 restarts it',
          'data-testid': `crash-${i.serverId}`,
        }),
        button('drain', () => fault('stop'), {
          class: 'fault',
          title: 'SIGINT: tell clients, close, stay down',
          'data-testid': `stop-${i.serverId}`,
        }),
        button('start', () => fault('start'), { class: 'fault', 'data-testid': `start-${i.serverId}` }),
      );
      const node = el(
        'section',
        { class: 'instance', 'data-server-id': i.serverId },
        el('h3', {}, i.serverId),
        meta,
        count,
        actions,
        list,
        more,
      );
      card = { node, meta, count, list, more };
      this.cards.set(i.serverId, card);
      // Keep cards in port order.
      const after = [...this.cards.values()]
        .map((c) => c.node)
        .find((n) => n !== node && Number(n.dataset.port) > i.port);
      node.dataset.port = String(i.port);
      this.row.insertBefore(node, after ?? null);
    }
    card.node.classList.toggle('offline', !i.online);
    card.node.classList.toggle('draining', i.draining);
    card.meta.textContent = `:${i.port} · pid ${i.pid ?? '—'} · ${i.adapter ?? '?'} · ${i.broadcast ?? '?'}`;
  }
}

/** Clients per instance, and per transport: one pass over every client. */
function tally(clients: ClientView[]): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const c of clients) {
    let t = out.get(c.serverId);
    if (!t) {
      t = { total: 0, websocket: 0, polling: 0 };
      out.set(c.serverId, t);
    }
    t.total++;
    if (c.transport === 'websocket') t.websocket++;
    else t.polling++;
  }
  return out;
}
