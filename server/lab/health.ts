// GET /health of an instance, on a fresh TCP connection every time.
//
// Why not fetch(): it keeps connections alive and reuses them. In PM2 cluster
// mode several workers share one port and PM2 hands out *connections*, so a
// reused connection would ask the same worker forever.

import http from 'node:http';

export interface InstanceHealth {
  serverId: string;
  pid: number;
  port: number;
  connections: number;
  draining?: boolean;
  memory?: { rss: number; heapUsed: number };
}

/** The instance's answer (any status: a draining one answers 503), or null if nothing answered in time. */
export function getHealth(port: number, opts: { gc?: boolean; timeoutMs?: number } = {}): Promise<InstanceHealth | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: opts.gc ? '/health?gc=1' : '/health', agent: false, timeout: opts.timeoutMs ?? 800 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as InstanceHealth);
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}
