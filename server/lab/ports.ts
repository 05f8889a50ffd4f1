import { readFileSync } from 'node:fs';
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

/**
 * Where the kernel takes ports for outgoing connections. A lab listening in
 * that range can find its port taken by some client's connection when an
 * instance restarts, so labs on picked ports stay below it.
 */
function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 12_000 ? start : 32_768;
  } catch {
    return 32_768; // Linux's default; macOS starts at 49152
  }
}

/**
 * A run of `count` consecutive free ports, for tests and benches that must not
 * collide with a learner's lab or with each other. Each process starts from a
 * slot of its own (by pid), below the ephemeral range, then looks for a free run.
 */
export async function findFreePortRange(count: number): Promise<number> {
  const low = 10_000;
  const high = ephemeralStart() - count;
  const slots = Math.floor((high - low) / count);
  for (let tried = 0, slot = process.pid % slots; tried < slots; tried++, slot = (slot + 1) % slots) {
    const base = low + slot * count;
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports between ${low} and ${high}`);
}
