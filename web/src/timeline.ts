// The timeline: every event since the page opened, a cursor into it, and the
// view's hub rebuilt at the cursor. Live, the cursor follows the stream;
// paused, it stays; step moves it by one; replay runs it forward at a chosen
// speed with the original gaps; scrubbing jumps anywhere. Rebuilding is the
// same fold the server does (TelemetryHub), from the snapshot taken at load.

import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import { TelemetryHub, type HubSnapshot } from '../../server/lab/telemetry/hub.ts';

const MAX_LOG = 20_000;
/**
 * Events folded into the base at a time once the log is full. Small on
 * purpose: the base hub takes them as the live hub took them (one publish
 * each), so the work is spread evenly instead of one long frame every
 * 10,000 events (measured: a 6.9 s frame at 10,000 clients when the whole
 * base was rebuilt from a snapshot at once).
 */
const FOLD_CHUNK = 500;

export type Mode = 'live' | 'paused' | 'replay';

export class Timeline {
  hub = new TelemetryHub();
  mode: Mode = 'live';
  speed = 1;
  /** The state before log[0]: the events dropped from the log, folded. */
  private base = new TelemetryHub();
  readonly log: TelemetryEvent[] = [];
  /** Events applied to `hub`: log[0 .. cursor). */
  cursor = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    /** An event was applied to the view's hub ('animate' when it is worth drawing its flow). */
    private readonly applied: (e: TelemetryEvent, animate: boolean) => void,
    /** The view must redraw (after a jump). */
    private readonly changed: () => void,
  ) {}

  reset(snapshot: HubSnapshot): void {
    this.stopTimer();
    this.base = TelemetryHub.fromSnapshot(snapshot);
    this.log.length = 0;
    this.cursor = 0;
    this.hub = TelemetryHub.fromSnapshot(snapshot);
    this.mode = 'live';
    this.changed();
  }

  push(e: TelemetryEvent): void {
    this.log.push(e);
    if (this.mode === 'live') this.applyNext(true);
    if (this.log.length > MAX_LOG) this.compact();
  }

  pause(): void {
    this.stopTimer();
    this.mode = 'paused';
    this.changed();
  }

  /** Back to live: everything not yet shown is applied at once. */
  live(): void {
    this.stopTimer();
    while (this.cursor < this.log.length) this.applyNext(false);
    this.mode = 'live';
    this.changed();
  }

  step(): void {
    if (this.mode !== 'paused') this.pause();
    if (this.cursor < this.log.length) this.applyNext(true);
    this.changed();
  }

  /** Play forward from the cursor with the events' own gaps, divided by `speed`; live again at the end. */
  replay(): void {
    this.stopTimer();
    this.mode = 'replay';
    const next = (): void => {
      if (this.mode !== 'replay') return;
      if (this.cursor >= this.log.length) {
        this.live();
        return;
      }
      const e = this.applyNext(true);
      const following = this.log[this.cursor];
      const gap = following ? Math.min(1500, Math.max(0, following.at - e.at)) / this.speed : 0;
      this.changed();
      this.timer = setTimeout(next, gap);
    };
    next();
  }

  /** Jump to position `index` (0 … log.length): the hub is rebuilt from the base. */
  seek(index: number): void {
    if (this.mode === 'live' || this.mode === 'replay') this.pause();
    const target = Math.max(0, Math.min(index, this.log.length));
    if (target < this.cursor) {
      this.hub = TelemetryHub.fromSnapshot(this.base.snapshot());
      this.cursor = 0;
    }
    while (this.cursor < target) this.applyNext(false);
    this.changed();
  }

  private applyNext(animate: boolean): TelemetryEvent {
    const e = this.log[this.cursor++]!;
    this.hub.publish(e);
    this.applied(e, animate);
    return e;
  }

  /** Fold the oldest events into the base, so memory stays bounded. */
  private compact(): void {
    const drop = Math.min(FOLD_CHUNK, this.log.length);
    for (let i = 0; i < drop; i++) this.base.publish(this.log[i]!);
    this.log.splice(0, drop);
    if (this.cursor >= drop) {
      this.cursor -= drop;
    } else {
      // The view was paused further back than we keep: it jumps to the oldest kept moment.
      this.hub = TelemetryHub.fromSnapshot(this.base.snapshot());
      this.cursor = 0;
      this.changed();
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
