// h. The live view at scale: the lab UI open in headless Chromium while
// thousands of fleet clients are connected and about 1,000 deliveries a
// second flow through them. Measures what a learner would feel (frames per
// second and the worst frame, from requestAnimationFrame in the page) and
// what it costs the lab process (CPU, RSS, bytes on the UI's event stream).
// Self-contained: its result type, its table lines and its HTML live here.

import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Lab } from '../../server/lab/lab.ts';
import { ensureWebBuilt } from '../../server/lab/web-build.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { CONFIGS, cpuTargets, ms, type BenchContext } from './context.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';

/** Clients per room: 1,000 deliveries/s is then 100 messages/s. */
const ROOM_SIZE = 10;
const DELIVERIES_PER_SEC = 1000;
/** Fleet clients are added in chunks, so nginx and the instances take handshakes at a pace they hold. */
const ADD_CHUNK = 500;
/** The target the issue sets, and what the UI managed with 1,000 clients before aggregation. */
export const VIEW_TARGET_FPS = 30;

export interface ViewResult {
  config: string;
  label: string;
  /** Fleet clients asked for, and connected when measuring began. */
  clients: number;
  connected: number;
  spread: Record<string, number>;
  seconds: number;
  /** Fleet deliveries the instances reported in the measured window, per second. */
  deliveriesPerSec: number;
  /** Whether the page had switched to its aggregated view, and how many client chips it drew. */
  aggregated: boolean;
  chipsDrawn: number;
  fps: number;
  /** Longest gap between two frames, and the 99th percentile, ms. */
  worstFrameMs: number;
  p99FrameMs: number;
  /** Search for a client that is not drawn: did the page name its instance right, and how fast. */
  search: { clientId: string; drawn: boolean; expected: string; shown: string | null; ms: number };
  /** The UI's event stream (server-sent events), bytes/s while measuring. */
  streamBytesPerSec: number;
  /** The same, per event type (bytes/s), largest first. */
  streamByType: Record<string, number>;
  /** The lab process: this one (control plane, hub, fleet clients, the browser driver). */
  labRssMB: number;
  cpu: CpuUse[];
}

export async function viewWorkload(
  ctx: BenchContext,
  clients: number,
  seconds: number,
  /** Where to save a screenshot of the page, with a search answered, after measuring. */
  screenshot?: string,
): Promise<ViewResult> {
  const config = CONFIGS['nginx-redis'];
  await ensureWebBuilt((line) => ctx.progress(`view: ${line}`));
  // Telemetry on: the view is drawn from it.
  const lab = await ctx.use(config.stage, true);
  let browser: Browser | null = null;
  try {
    let t = performance.now();
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(lab.control.url);
    await page.getByText('live', { exact: true }).first().waitFor();
    ctx.progress(`view: page open (${ms(t)})`);

    t = performance.now();
    for (let added = 0; added < clients; added += ADD_CHUNK) {
      ctx.checkAbort();
      await lab.fleet.add(Math.min(ADD_CHUNK, clients - added), { timeoutMs: 15_000 });
    }
    const fleet = lab.fleet.list().filter((c) => c.socket.connected);
    ctx.progress(`view: ${fleet.length}/${clients} fleet clients connected (${ms(t)})`);
    if (fleet.length < clients * 0.95) throw new Error(`view: only ${fleet.length} of ${clients} clients connected`);

    const rooms: string[][] = [];
    for (let i = 0; i < fleet.length; i += ROOM_SIZE) rooms.push(fleet.slice(i, i + ROOM_SIZE).map((c) => c.id));
    await Promise.all(rooms.map((ids, k) => lab.fleet.join(ids, `view-${k}`)));
    // The page must hold every client before it is measured: its counts add up to what is connected.
    await waitForPageCount(ctx, page, lab, 20_000);
    ctx.progress(`view: ${rooms.length} rooms of ${ROOM_SIZE}, the page counts every client`);

    const sending = sendLoop(lab, rooms);
    try {
      await ctx.sleep(1500); // warm up: the page's first redraws under load, the instances' JIT
      const stream = await countStream(lab);
      let deliveries = 0;
      const off = lab.hub.subscribe((e) => {
        if (e.t === 'delivered') for (const d of e.deliveries) deliveries += d.socketIds.length;
      });
      const meter = new CpuMeter(cpuTargets(lab));
      const t0 = performance.now();
      const frames = await measureFrames(page, seconds);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = meter.stop();
      off();
      const streamed = stream.stop();
      ctx.progress(`view: ${frames.length} frames in ${seconds} s (lab measured for ${elapsed.toFixed(1)} s)`);
      const search = await searchHidden(page, lab, screenshot);
      const shape = await page.evaluate(() => ({
        aggregated: document.getElementById('topology')?.dataset.aggregated === 'true',
        chips: document.querySelectorAll('[data-client-id]').length,
      }));
      const sorted = [...frames].sort((a, b) => a - b);
      const result: ViewResult = {
        config: config.id,
        label: config.label,
        clients,
        connected: fleet.length,
        spread: spreadOfFleet(lab),
        seconds,
        deliveriesPerSec: deliveries / elapsed,
        aggregated: shape.aggregated,
        chipsDrawn: shape.chips,
        fps: frames.length / seconds,
        worstFrameMs: sorted.at(-1) ?? Number.NaN,
        p99FrameMs: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN,
        search,
        streamBytesPerSec: streamed.bytes / elapsed,
        streamByType: Object.fromEntries(
          Object.entries(streamed.byType)
            .sort(([, a], [, b]) => b - a)
            .map(([t, n]) => [t, Math.round(n / elapsed)]),
        ),
        labRssMB: process.memoryUsage().rss / 2 ** 20,
        cpu,
      };
      ctx.progress(viewLine(result));
      return result;
    } finally {
      sending.stop();
    }
  } finally {
    await browser?.close();
    const t = performance.now();
    const n = lab.fleet.remove();
    ctx.progress(`view: ${n} fleet clients removed (${ms(t)})`);
  }
}

/** ≈ DELIVERIES_PER_SEC: one message every few ms from a member of the next room, round robin. */
function sendLoop(lab: Lab, rooms: string[][]): { stop(): void } {
  const perMessage = ROOM_SIZE;
  const everyMs = (1000 * perMessage) / DELIVERIES_PER_SEC;
  let k = 0;
  const started = performance.now();
  let sent = 0;
  // A coarse timer that catches up: setInterval alone drifts under load.
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - started) / everyMs);
    for (; sent < due; sent++) {
      const room = k++ % rooms.length;
      const ids = rooms[room]!;
      void lab.fleet.send(ids[sent % ids.length]!, `view-${room}`, 'hello');
    }
  }, 10);
  return { stop: () => clearInterval(timer) };
}

/**
 * Frame gaps (ms) for `seconds`, from requestAnimationFrame in the page.
 * Passed as source text: tsx names the functions it compiles with a helper
 * (`__name`) that does not exist in the page.
 */
function measureFrames(page: Page, seconds: number): Promise<number[]> {
  return page.evaluate(`new Promise((resolve) => {
    const gaps = [];
    let last = -1;
    let end = 0;
    function frame(t) {
      if (last < 0) end = t + ${seconds * 1000};
      else gaps.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(frame);
      else resolve(gaps);
    }
    requestAnimationFrame(frame);
  })`);
}

/** Type the name of a client the page does not draw; how long until it names the client's instance. */
async function searchHidden(page: Page, lab: Lab, screenshot?: string): Promise<ViewResult['search']> {
  const drawn = new Set(
    await page.$$eval('[data-client-id]', (nodes) => nodes.map((n) => n.getAttribute('data-client-id'))),
  );
  // A client that is not drawn is the point; under the threshold every one is, so any will do.
  const connected = lab.fleet.list().filter((c) => c.socket.connected);
  const target = connected.find((c) => !drawn.has(c.id)) ?? connected[0];
  if (!target) throw new Error('view: no connected client to search for');
  // Timed inside the page: from the input event to its answer on screen. A
  // round trip through Playwright would also time this process, which runs
  // every fleet client and is busy receiving their messages.
  let shown: string | null = null;
  let ms = Number.NaN;
  try {
    const answer = await page.evaluate(async (id) => {
      const input = document.querySelector<HTMLInputElement>('[data-testid="client-search"]');
      if (!input) return null;
      const t0 = performance.now();
      input.value = id;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      for (let frame = 0; frame < 600; frame++) {
        const row = document.querySelector(
          `[data-testid="client-search-result"] [data-result-client-id="${CSS.escape(id)}"]`,
        );
        if (row) return { ms: performance.now() - t0, shown: row.getAttribute('data-result-server-id') };
        await new Promise((r) => requestAnimationFrame(r));
      }
      return { ms: performance.now() - t0, shown: null };
    }, target.id);
    shown = answer?.shown ?? null;
    ms = answer?.ms ?? Number.NaN;
    if (screenshot) {
      mkdirSync(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot });
    }
    await page.getByTestId('client-search').fill('', { timeout: 10_000 });
  } catch {
    // Reported as no answer (shown: null), with the time it was given.
  }
  return {
    clientId: target.id,
    drawn: drawn.has(target.id),
    expected: target.serverId ?? '?',
    shown,
    ms,
  };
}

/** Until the per-instance counts in the page add up to the lab's connected clients. */
async function waitForPageCount(ctx: BenchContext, page: Page, lab: Lab, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const want = lab.status().instances.reduce((n, i) => n + i.connections, 0);
    const shown = await page.$$eval('[data-testid^="instance-count-"]', (nodes) =>
      nodes.reduce((n, node) => n + Number((node as HTMLElement).dataset.count ?? 0), 0),
    );
    if (shown === want && want > 0) return;
    if (Date.now() > deadline) throw new Error(`view: the page counts ${shown} clients, the lab ${want}`);
    await ctx.sleep(250);
  }
}

/** A second subscriber on the UI's event stream, counting what the lab writes to each open page, by event type. */
async function countStream(lab: Lab): Promise<{ stop(): { bytes: number; byType: Record<string, number> } }> {
  const url = `${lab.control.url}api/events?token=${lab.state.token}`;
  let bytes = 0;
  let pending = '';
  let first = true;
  const byType: Record<string, number> = {};
  const req = http.get(url);
  await new Promise<void>((resolve, reject) => {
    req.once('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        pending += text;
        const frames = pending.split('\n\n');
        pending = frames.pop() ?? '';
        for (const frame of frames) {
          // The first frame is the snapshot a page gets once on opening: not part of the steady stream.
          if (first) {
            first = false;
            continue;
          }
          const size = Buffer.byteLength(frame) + 2;
          bytes += size;
          const type = /"t":"([a-z-]+)"/.exec(frame)?.[1] ?? '?';
          byType[type] = (byType[type] ?? 0) + size;
        }
      });
      resolve();
    });
    req.once('error', reject);
  });
  return {
    stop: () => {
      req.destroy();
      return { bytes, byType };
    },
  };
}

function spreadOfFleet(lab: Lab): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of lab.status().instances) out[i.serverId] = i.connections;
  return out;
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

function viewLine(r: ViewResult): string {
  const spread = Object.entries(r.spread)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  return (
    `view: ${r.connected} clients (${spread}), ${Math.round(r.deliveriesPerSec)} deliveries/s: ${fmt(r.fps)} fps, worst frame ${fmt(r.worstFrameMs, 0)} ms, ` +
    `p99 ${fmt(r.p99FrameMs, 0)} ms; ${r.aggregated ? `aggregated, ${r.chipsDrawn} chips drawn` : 'every client drawn'}; ` +
    `search ${r.search.clientId} → ${r.search.shown} (${r.search.expected === r.search.shown ? 'right' : `WRONG, it is on ${r.search.expected}`}) in ${Math.round(r.search.ms)} ms; ` +
    `UI stream ${fmt(r.streamBytesPerSec / 1024)} KB/s; lab RSS ${Math.round(r.labRssMB)} MB`
  );
}

/** The terminal table's section h. */
export function viewTableLines(r: ViewResult, cpuText: (cpu: CpuUse[]) => string): string[] {
  const ok = r.fps >= VIEW_TARGET_FPS;
  return [
    `h. The live view — ${r.label}, lab UI in headless Chromium, panels open, ${r.connected} fleet clients in rooms of ${ROOM_SIZE}`,
    `   ${Math.round(r.deliveriesPerSec)} deliveries/s: ${fmt(r.fps)} fps (target ≥ ${VIEW_TARGET_FPS}: ${ok ? 'met' : 'MISSED'}), worst frame ${fmt(r.worstFrameMs, 0)} ms, p99 frame ${fmt(r.p99FrameMs, 0)} ms`,
    `   ${r.aggregated ? `aggregated: counts per instance, ${r.chipsDrawn} client chips drawn` : `every client drawn (${r.chipsDrawn} chips)`}; ` +
      `search for ${r.search.drawn ? 'drawn' : 'hidden'} ${r.search.clientId}: ${r.search.shown ?? 'nothing'} (${r.search.shown === r.search.expected ? 'right' : `wrong, it is on ${r.search.expected}`}) in ${Math.round(r.search.ms)} ms`,
    `   UI event stream ${fmt(r.streamBytesPerSec / 1024)} KB/s per open page (${Object.entries(r.streamByType)
      .slice(0, 4)
      .map(([t, n]) => `${t} ${fmt(n / 1024)}`)
      .join(', ')}); lab process RSS ${Math.round(r.labRssMB)} MB; CPU ${cpuText(r.cpu)}`,
  ];
}

/** The HTML report's section h. */
export function viewHtml(r: ViewResult, esc: (s: string) => string): string {
  const ok = r.fps >= VIEW_TARGET_FPS;
  return (
    `<h2>h. The live view at scale</h2><p>${esc(r.label)}: the lab UI open in headless Chromium (1500×950, every panel open) while ${r.connected} fleet clients are connected (${esc(
      Object.entries(r.spread)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
    )}) and ≈ ${Math.round(r.deliveriesPerSec)} deliveries/s flow in rooms of ${ROOM_SIZE}. Frames measured with requestAnimationFrame over ${r.seconds} s.</p>` +
    `<p><b>${fmt(r.fps)} fps</b> (target ≥ ${VIEW_TARGET_FPS}: ${ok ? 'met' : '<b>missed</b>'}), worst frame ${fmt(r.worstFrameMs, 0)} ms, p99 ${fmt(r.p99FrameMs, 0)} ms. ` +
    `${r.aggregated ? `The topology aggregated: counts per instance and ${r.chipsDrawn} client chips.` : `Every client was drawn (${r.chipsDrawn} chips).`} ` +
    `Searching for ${esc(r.search.clientId)}${r.search.drawn ? '' : ', not drawn,'} named ${esc(r.search.shown ?? 'nothing')} (${r.search.shown === r.search.expected ? 'right' : `wrong: it is on ${esc(r.search.expected)}`}) in ${Math.round(r.search.ms)} ms. ` +
    `The UI's event stream carried ${fmt(r.streamBytesPerSec / 1024)} KB/s per open page; the lab process held ${Math.round(r.labRssMB)} MB RSS.</p>`
  );
}
