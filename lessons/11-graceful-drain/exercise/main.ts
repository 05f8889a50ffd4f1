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
console.log(`[${serverId}] listening on ${config.host}:${config.port} (adapter ${config.adapter})`);

// PM2 stops a process with SIGINT (and SIGKILL after its kill_timeout);
// Kubernetes and systemd use SIGTERM.
// TODO (lesson 11): leaving at once drops every client mid-sentence, and saves
// no session for recovery. On the first signal, drain: `server.drain()` tells
// this instance's clients, refuses new ones, waits config.drainMs and closes
// the connections (which saves each session); exit when it is done. A second
// signal, from a person who will not wait, should exit at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.log(`[${serverId}] ${signal}: exiting`);
    void server;
    process.exit(0);
  });
}
