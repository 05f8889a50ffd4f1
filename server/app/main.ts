// Entry point of one instance: read the config, start, and leave gracefully.
// PM2 runs this file once per instance (see ecosystem.config.js). Lesson 11.

import { ConfigError, readConfig } from './config.ts';
import { startChatServer } from './server.ts';

let config: ReturnType<typeof readConfig>;
try {
  config = readConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? `cannot start: ${err.message}` : err);
  process.exit(1);
}
const { serverId } = config;

const server = await startChatServer(config).catch((err: NodeJS.ErrnoException) => {
  const why = err.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : err.message;
  console.error(`[${serverId}] cannot start: ${why}`);
  process.exit(1);
});

// PM2 stops a process with SIGINT (and SIGKILL after its kill_timeout);
// Kubernetes and systemd use SIGTERM. The first one drains: clients are told,
// new ones refused, and once their connections close their sessions are saved
// for recovery. A second one, from a person who will not wait, exits at once.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      console.log(`[${serverId}] ${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`[${serverId}] ${signal}: draining for ${config.drainMs} ms`);
    void server.drain().finally(() => process.exit(0));
  });
}

// Said last: whoever waits for this line (PM2's logs, a test) may stop us at once.
console.log(`[${serverId}] listening on ${config.host}:${config.port} (adapter ${config.adapter})`);
