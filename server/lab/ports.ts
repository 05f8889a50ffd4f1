import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LabError } from './errors.ts';

/** Resolves true if nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A taken port is the most common start-up failure: name it, and say how to
 * move. `graceMs`: a process of ours that was just stopped may hold the port
 * a moment longer (closing its server, saving sessions), so wait that long
 * for it to be released before calling it taken.
 */
export async function assertPortFree(port: number, what: string, envVar: string, graceMs = 0): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (!(await isPortFree(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
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
 * slot of its own (by pid), below the ephemeral range, then looks for a free run
 * and claims it with a file naming its pid. Free is not enough: another lab's
 * instance may be between a stop and a start, its port free for a moment.
 */
export async function findFreePortRange(count: number): Promise<number> {
  const low = 10_000;
  const high = ephemeralStart() - count;
  const slots = Math.floor((high - low) / count);
  for (let tried = 0, slot = process.pid % slots; tried < slots; tried++, slot = (slot + 1) % slots) {
    const base = low + slot * count;
    if (claimedByOther(base, count)) continue;
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)));
    if (checks.every(Boolean)) {
      claim(base, count);
      return base;
    }
  }
  throw new Error(`no run of ${count} free ports between ${low} and ${high}`);
}

const claimsDir = path.join(os.tmpdir(), 'lab-port-claims');
const claimFile = (base: number, count: number): string => path.join(claimsDir, `${base}-${count}`);

/** True if a live process other than this one has claimed a range overlapping [base, base + count). */
function claimedByOther(base: number, count: number): boolean {
  let names: string[];
  try {
    names = readdirSync(claimsDir);
  } catch {
    return false; // no claims yet
  }
  return names.some((name) => {
    const [b, c] = name.split('-').map(Number) as [number, number];
    if (!(b < base + count && base < b + c)) return false;
    let pid: number;
    try {
      pid = Number(readFileSync(path.join(claimsDir, name), 'utf8'));
    } catch {
      return false; // removed as we looked
    }
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false; // its owner is gone
    }
  });
}

function claim(base: number, count: number): void {
  mkdirSync(claimsDir, { recursive: true });
  const file = claimFile(base, count);
  writeFileSync(file, String(process.pid));
  process.once('exit', () => rmSync(file, { force: true }));
}
