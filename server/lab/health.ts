// Asking an instance about itself, on a fresh TCP connection every time.
//
// Why not fetch(): it keeps connections alive and reuses them. In PM2 cluster
// mode several workers share one port and PM2 hands out *connections*, so a
// reused connection would ask the same worker forever.

import http from 'node:http';
import type { Health } from '../app/protocol.ts';

/** GET /health: the instance's answer (any status: a draining one answers 503), or null if nothing answered. */
export function getHealth(port: number, opts: { timeoutMs?: number } = {}): Promise<Health | null> {
  return getJson<Health>(port, '/health', opts.timeoutMs ?? 800);
}

export interface Memory {
  rss: number;
  heapUsed: number;
  connections: number;
}

/**
 * The lab probe's GET /lab/memory (see telemetry/instrument.ts): heap and RSS,
 * after a full garbage collection when `gc` is set.
 */
export function getMemory(port: number, opts: { gc?: boolean; timeoutMs?: number } = {}): Promise<Memory | null> {
  return getJson<Memory>(port, opts.gc ? '/lab/memory?gc=1' : '/lab/memory', opts.timeoutMs ?? 3000);
}

function getJson<T>(port: number, path: string, timeoutMs: number): Promise<T | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}
