// Message flow, hop by hop: a dot travels sender → nginx → origin instance,
// then origin → Redis → every other instance that delivers, then on to each
// receiving client. Dots run on the compositor (Web Animations); beyond a cap
// they are skipped, so a busy lab keeps its frame rate.

import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import type { TelemetryHub } from '../../server/lab/telemetry/hub.ts';
import { el } from './dom.ts';
import type { TopologyView } from './topology.ts';

const MAX_DOTS = 40;
const HOP_MS = 350;

export class FlowView {
  private active = 0;
  private readonly layer = el('div', { class: 'flow-layer', 'aria-hidden': 'true' });

  constructor(private readonly topology: TopologyView) {
    topology.root.append(this.layer);
  }

  /** Draw what one event means for the message flow (called as events are applied). */
  play(e: TelemetryEvent, hub: TelemetryHub, speed: number): void {
    if (e.t === 'received') {
      const sender = this.topology.chip(e.socketId);
      const origin = this.topology.card(e.serverId);
      // frontDoor(), not snapshot(): a snapshot copies every client, once per message.
      const via = hub.frontDoor() ? [this.topology.nginx] : [];
      if (sender && origin) this.dot([sender, ...via, origin], 'send', speed);
    } else if (e.t === 'delivered') {
      const card = this.topology.card(e.serverId);
      if (!card) return;
      for (const d of e.deliveries) {
        const m = hub.message(d.msgId);
        if (!m) continue;
        const remote = m.origin !== '' && m.origin !== e.serverId;
        const origin = this.topology.card(m.origin);
        const start: Element[] = remote && origin ? [origin, this.topology.redis, card] : [card];
        for (const socketId of d.socketIds.slice(0, 6)) {
          const chip = this.topology.chip(socketId);
          if (chip) this.dot([...start, chip], remote ? 'remote' : 'local', speed);
        }
      }
    } else if (e.t === 'handshake-failed') {
      this.flash(e.via === 'nginx' ? this.topology.nginx : this.topology.root, speed);
    }
  }

  private dot(path: Element[], kind: string, speed: number): void {
    if (this.active >= MAX_DOTS || path.length < 2) return;
    const origin = this.layer.getBoundingClientRect();
    const frames = path.map((node) => {
      const r = node.getBoundingClientRect();
      return {
        transform: `translate(${r.left + r.width / 2 - origin.left}px, ${r.top + r.height / 2 - origin.top}px)`,
      };
    });
    const dot = el('span', { class: `dot ${kind}` });
    this.layer.append(dot);
    this.active++;
    const animation = dot.animate(frames, { duration: (HOP_MS * (path.length - 1)) / speed, easing: 'linear' });
    animation.onfinish = animation.oncancel = () => {
      dot.remove();
      this.active--;
    };
  }

  private flash(node: HTMLElement, speed: number): void {
    node.classList.add('alert');
    setTimeout(() => node.classList.remove('alert'), 1200 / speed);
  }
}
