// Entry point of one instance: read the config, start, and leave gracefully.
// PM2 runs this file once per instance (see ecosystem.config.js).

import { readConfig } from './config.ts';
import { startChatServer } from './server.ts';
import { loadProbe } from './telemetry.ts';

const config = readConfig();
const probe = await loadProbe(config.serverId);

const server = await startChatServer(config, probe).catch((err: NodeJS.ErrnoException) => {
  const why = err.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : err.message;
  console.error(`[${config.serverId}] cannot start: ${why}`);
  process.exit(1);
});
console.log(`[${config.serverId}] listening on ${config.host}:${config.port} (broadcast=${config.broadcast}, adapter=${config.adapter})`);

// PM2 stops a process with SIGINT; Kubernetes and systemd use SIGTERM.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`[${config.serverId}] ${signal}: draining`);
    void server
      .drain()
      .then(() => probe.flush())
      .finally(() => process.exit(0));
  });
}
