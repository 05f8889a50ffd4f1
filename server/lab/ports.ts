import net from 'node:net';
import { LabError } from './errors.ts';

/** Resolves true if nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A taken port is the most common start-up failure: name it, and say how to move. */
export async function assertPortFree(port: number, what: string, envVar: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new LabError(
      `port ${port} (${what}) is already in use by another process`,
      `stop whatever listens there (e.g. \`lsof -i :${port}\`), or choose another port: ${envVar}=<port>`,
    );
  }
}

/** A run of `count` consecutive free ports, for tests that must not collide with a learner's lab. */
export async function findFreePortRange(count: number, from = 20000 + Math.floor(Math.random() * 20000)): Promise<number> {
  for (let base = from; base < 60000; base += count + 7) {
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}
