// The lab's control plane on 127.0.0.1:4000: the UI's files, a control API,
// the UI's event stream, and the telemetry inlet for instances.
//
// It can start and kill processes, so it is guarded like one:
//  - it listens on loopback only;
//  - every request must carry a Host of 127.0.0.1/localhost:<port>, which
//    defeats DNS rebinding (evil.example resolving to 127.0.0.1);
//  - a request with an Origin must come from this very origin, which defeats
//    cross-site WebSocket/EventSource hijacking and CSRF;
//  - anything that changes state, and the event stream, needs the per-run
//    token, which only the lab's own page (served with it) and the CLI (which
//    reads the run directory) know. Instances use it for telemetry as well.

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { API_BODIES, type ApiBody, type ApiName } from './api.ts';
import { LabError } from './errors.ts';
import { formatIssue } from './schema-errors.ts';
import type { TelemetryBatch } from './telemetry/events.ts';
import type { TelemetryHub } from './telemetry/hub.ts';

/** One handler per API request, each given its body already validated and typed. */
export type ApiHandlers = { [N in ApiName]: (body: ApiBody<N>) => Promise<unknown> };

export interface ControlPlaneOptions {
  port: number;
  token: string;
  hub: TelemetryHub;
  webDist: string;
  /** GET /api/<name> */
  reads: Record<string, () => unknown>;
  /** POST /api/<name> */
  actions: ApiHandlers;
}

const MAX_BODY = 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

export class ControlPlane {
  private server: http.Server | null = null;
  private readonly streams = new Set<http.ServerResponse>();

  constructor(private readonly opts: ControlPlaneOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}/`;
  }

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : err instanceof LabError ? 400 : 500;
        if (!res.headersSent)
          json(res, status, { ok: false, error: err instanceof LabError ? err.toString() : (err as Error).message });
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new LabError(
                `port ${this.opts.port} (lab UI and control API) is already in use`,
                'is a lab already running? `npm run lab -- status`; or set LAB_UI_PORT=<port>',
              )
            : err,
        ),
      );
      server.listen(this.opts.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.opts.hub.subscribe((event) => {
      const frame = `data: ${JSON.stringify(event)}\n\n`;
      for (const res of this.streams) res.write(frame);
    });
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    this.streams.clear();
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.checkHostAndOrigin(req);

    if (url.pathname === '/telemetry' && req.method === 'POST') {
      this.checkToken(bearer(req));
      const batch = (await readJson(req)) as unknown as TelemetryBatch;
      if (!Array.isArray(batch.events)) throw new HttpError(400, 'events must be a list');
      for (const event of batch.events) this.opts.hub.publish(event);
      res.writeHead(204).end();
      return;
    }

    if (url.pathname === '/api/events' && req.method === 'GET') {
      this.checkToken(url.searchParams.get('token'));
      this.openStream(res);
      return;
    }

    if (url.pathname.startsWith('/api/')) {
      const name = url.pathname.slice('/api/'.length);
      if (req.method === 'GET' && Object.hasOwn(this.opts.reads, name)) {
        json(res, 200, this.opts.reads[name]!());
        return;
      }
      if (req.method === 'POST' && Object.hasOwn(API_BODIES, name)) {
        this.checkToken(req.headers['x-lab-token']);
        const parsed = API_BODIES[name as ApiName].safeParse(await readJson(req), { reportInput: true });
        if (!parsed.success) {
          throw new HttpError(400, parsed.error.issues.map((i) => formatIssue(`/api/${name}`, i)).join('; '));
        }
        const handler = this.opts.actions[name as ApiName] as (body: unknown) => Promise<unknown>;
        json(res, 200, { ok: true, result: await handler(parsed.data) });
        return;
      }
      throw new HttpError(404, `no such API: ${req.method} ${url.pathname}`);
    }

    if (req.method === 'GET') return this.serveStatic(url.pathname, res);
    throw new HttpError(405, 'method not allowed');
  }

  private checkHostAndOrigin(req: http.IncomingMessage): void {
    const allowed = [`127.0.0.1:${this.opts.port}`, `localhost:${this.opts.port}`];
    if (!allowed.includes(req.headers.host ?? ''))
      throw new HttpError(403, `forbidden Host "${req.headers.host ?? ''}"`);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.map((h) => `http://${h}`).includes(origin)) {
      throw new HttpError(403, `forbidden Origin "${origin}"`);
    }
  }

  private checkToken(given: string | string[] | null | undefined): void {
    const expected = Buffer.from(this.opts.token);
    const actual = Buffer.from(typeof given === 'string' ? given : '');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
      throw new HttpError(403, 'missing or wrong lab token');
  }

  /** Server-sent events: a snapshot first, then every event as it happens. */
  private openStream(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`event: snapshot\ndata: ${JSON.stringify(this.opts.reads.snapshot?.() ?? null)}\n\n`);
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  private serveStatic(pathname: string, res: http.ServerResponse): void {
    const root = this.opts.webDist;
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) throw new HttpError(404, 'not found');
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (!existsSync(path.join(root, 'index.html')))
        throw new HttpError(503, 'the UI is not built yet: npm run build:web');
      throw new HttpError(404, 'not found');
    }
    if (rel === 'index.html') {
      // The page gets the token this way; other origins cannot read it (same-origin policy + Host check).
      const html = readFileSync(file, 'utf8').replace('__LAB_TOKEN__', this.opts.token);
      res.writeHead(200, { 'content-type': MIME['.html']!, 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function bearer(req: http.IncomingMessage): string | null {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7) : null;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'request body must be a JSON object');
  }
}
