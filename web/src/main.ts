// The lab UI: a view over the lab's one event stream. It starts from the
// server's snapshot and folds every later event with the same TelemetryHub
// code the server uses, so it always shows what `lab status` says.

import { TelemetryHub, type HubSnapshot } from '../../server/lab/telemetry/hub.ts';
import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import { renderEvent, renderTopology } from './render.ts';

const token = document.querySelector<HTMLMetaElement>('meta[name="lab-token"]')?.content ?? '';
const topology = document.getElementById('topology')!;
const events = document.getElementById('events')!;
const stageLabel = document.getElementById('stage')!;
const connLabel = document.getElementById('conn')!;

let hub = new TelemetryHub();
let scheduled = false;

/** Redraw at most once per frame, however many events arrive. */
function redraw(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const snap = hub.snapshot();
    stageLabel.textContent = snap.stage ? `stage: ${snap.stage.id} (${snap.stage.phase})` : 'no stage';
    renderTopology(topology, snap);
  });
}

function log(event: TelemetryEvent): void {
  const line = renderEvent(event);
  if (!line) return;
  events.prepend(line);
  while (events.childElementCount > 200) events.lastElementChild!.remove();
}

function connect(): void {
  const stream = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  stream.addEventListener('snapshot', (e) => {
    const snap = JSON.parse((e as MessageEvent<string>).data) as HubSnapshot & { recent: TelemetryEvent[] };
    hub = TelemetryHub.fromSnapshot(snap);
    events.replaceChildren();
    for (const event of snap.recent) log(event);
    connLabel.textContent = 'live';
    redraw();
  });
  stream.onmessage = (e: MessageEvent<string>) => {
    const event = JSON.parse(e.data) as TelemetryEvent;
    hub.publish(event);
    log(event);
    redraw();
  };
  stream.onerror = () => {
    connLabel.textContent = 'lab unreachable: retrying…';
  };
}

connect();
