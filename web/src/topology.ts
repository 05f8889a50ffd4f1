// The live topology: nginx on top, the instances in a row with their clients
// inside, Redis below. Updated by key (serverId, socketId), so a lab with a
// thousand clients changes a few nodes per update, not a thousand.

import type { HubSnapshot, InstanceView } from '../../server/lab/telemetry/hub.ts';
import { button, el } from './dom.ts';

export type FaultRequest =
  | { target: 'instance'; serverId: string; fault: 'crash' | 'stop' | 'start' }
  | { target: 'redis'; fault: 'stop' | 'start' };

interface Card {
  node: HTMLElement;
  meta: HTMLElement;
  count: HTMLElement;
  list: HTMLElement;
}

const MOVE_NOTE_MS = 6000;

export class TopologyView {
  readonly nginx = el('div', { class: 'box nginx', 'data-testid': 'nginx' });
  readonly redis = el('div', { class: 'box redis', 'data-testid': 'redis' });
  private readonly row = el('div', { class: 'instances' });
  private readonly cards = new Map<string, Card>();
  private readonly chips = new Map<string, HTMLElement>();
  /** clientId → the instance it was last seen on, to show moves. */
  private readonly lastSeen = new Map<string, { serverId: string; gone: number }>();

  constructor(
    readonly root: HTMLElement,
    private readonly onFault: (f: FaultRequest) => void,
  ) {
    root.replaceChildren(el('div', { class: 'tier' }, this.nginx), this.row, el('div', { class: 'tier' }, this.redis));
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
      this.updateCard(instance, snap);
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.node.remove();
        this.cards.delete(id);
      }
    }

    const now = Date.now();
    const present = new Set<string>();
    for (const c of snap.clients) {
      present.add(c.socketId);
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
      if (!present.has(socketId)) {
        this.lastSeen.set(chip.dataset.clientId!, { serverId: chip.dataset.serverId!, gone: now });
        chip.remove();
        this.chips.delete(socketId);
      }
    }
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

  private updateCard(i: InstanceView, snap: HubSnapshot): void {
    let card = this.cards.get(i.serverId);
    if (!card) {
      const meta = el('p', { class: 'meta' });
      const count = el('p', { class: 'count' });
      const list = el('ul', { class: 'clients' });
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
      );
      card = { node, meta, count, list };
      this.cards.set(i.serverId, card);
      // Keep cards in port order.
      const after = [...this.cards.values()]
        .map((c) => c.node)
        .find((n) => n !== node && Number(n.dataset.port) > i.port);
      node.dataset.port = String(i.port);
      this.row.insertBefore(node, after ?? null);
    }
    const connections = snap.clients.filter((c) => c.serverId === i.serverId).length;
    card.node.classList.toggle('offline', !i.online);
    card.node.classList.toggle('draining', i.draining);
    card.meta.textContent = `:${i.port} · pid ${i.pid ?? '—'} · ${i.adapter ?? '?'} · ${i.broadcast ?? '?'}`;
    card.count.textContent = i.online
      ? `${connections} connection${connections === 1 ? '' : 's'}${i.draining ? ' · draining' : ''}`
      : 'down';
  }
}
