// Which limit a crowd of clients ran into, named from the evidence: what
// nginx wrote in its error log during the run, and what the clients were
// told. Several may show at once (a full nginx also makes clients time out):
// the first match below is the one closest to the cause.

export type WallId =
  | 'none'
  | 'nginx-worker-connections'
  | 'nginx-open-files'
  | 'instance-max-connections'
  | 'client-open-files'
  | 'timeout'
  | 'unknown';

export interface Wall {
  id: WallId;
  /** One line for the learner: the evidence, quoted, and what it means. */
  line: string;
}

export interface WallEvidence {
  /** nginx error log lines written during the run. */
  nginxDuring: string[];
  /** Earlier nginx lines (its start or last reload, where it warns about its limits). */
  nginxBefore: string[];
  /** What clients were told, each message with how many got it. */
  clientErrors: Record<string, number>;
}

/** "2026/12/02 16:10:00 [alert] 123#123: *45 accept4() failed (…)" → "accept4() failed (…)". */
export function nginxMessage(line: string): string {
  return line
    .replace(/^.*?\] \d+#\d+: (\*\d+ )?/, '')
    .replace(/,? (while|reusing) .*$/, '')
    .trim();
}

const lastMatch = (lines: string[], re: RegExp): string | undefined => [...lines].reverse().find((l) => re.test(l));

export function nameTheWall(e: WallEvidence): Wall | null {
  const errors = Object.entries(e.clientErrors).sort((a, b) => b[1] - a[1]);
  const nginxFiles = lastMatch(e.nginxDuring, /Too many open files/);
  if (nginxFiles) {
    // Why a worker ran out of files: it was told it may hold more connections than files.
    const refused = lastMatch(e.nginxBefore, /setrlimit\(RLIMIT_NOFILE/);
    if (refused)
      return {
        id: 'nginx-open-files',
        line: `nginx's open-files limit: "${nginxMessage(nginxFiles)}" (at start it could not raise its limit: "${nginxMessage(refused)}") — worker_rlimit_nofile cannot go above the system's hard limit (ulimit -Hn), so a worker keeps that many files at most`,
      };
    const warned = lastMatch(e.nginxBefore, /exceed open file resource limit/);
    return {
      id: 'nginx-open-files',
      line: `nginx's open-files limit: "${nginxMessage(nginxFiles)}"${warned ? ` (it warned at start: "${nginxMessage(warned)}")` : ''} — a worker's worker_connections must fit in its worker_rlimit_nofile, which the system's hard limit caps`,
    };
  }
  const nginxConns = lastMatch(e.nginxDuring, /worker_connections are not enough/);
  if (nginxConns) {
    return {
      id: 'nginx-worker-connections',
      line: `nginx's worker_connections: "${nginxMessage(nginxConns)}" — every proxied client uses two of them, per worker`,
    };
  }
  const full = errors.find(([m]) => /is full \(\d+ connections\)/.test(m));
  if (full) {
    return {
      id: 'instance-max-connections',
      line: `the instances' maxConnections: ${full[1]} clients were told "${full[0]}"`,
    };
  }
  const emfile = errors.find(([m]) => /EMFILE|too many open files/i.test(m));
  if (emfile) {
    return {
      id: 'client-open-files',
      line: `the clients' own open-files limit (ulimit -n of the lab's client processes): ${emfile[1]} got "${emfile[0]}"`,
    };
  }
  const timeout = errors.find(([m]) => /^timeout$/.test(m));
  if (timeout && timeout[1] === errors.reduce((a, [, n]) => a + n, 0)) {
    return {
      id: 'timeout',
      line: `no limit named in any log: ${timeout[1]} clients got no answer in time (an overloaded machine: CPU, or the instances' event loop)`,
    };
  }
  if (errors.length > 0)
    return { id: 'unknown', line: `no known limit named: ${errors[0]![1]} clients got "${errors[0]![0]}"` };
  return null;
}
