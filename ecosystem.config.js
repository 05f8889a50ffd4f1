// PM2's view of the lab: `pm2 start ecosystem.config.js` runs the final stage
// ("scaled") on its own: three chat instances in fork mode, each on its own
// port, sharing rooms through the Redis adapter. Try `pm2 ls`, `pm2 logs`,
// `pm2 monit`. It needs a Redis on REDIS_URL (default redis://127.0.0.1:6390):
// `npm run lab -- up --stage scaled` starts one, or run your own.
//
// CommonJS on purpose: PM2 cannot load an ESM ecosystem file. The server code
// itself is ESM (server/package.json says "type": "module").
//
// The lab builds its instances with the same `instanceApp()` below, with the
// settings of whichever stage it is in.

const path = require('node:path');

const BASE_PORT = Number(process.env.BASE_PORT || 3001);
const INSTANCES = Number(process.env.INSTANCES || 3);

/**
 * One PM2 app = one chat instance. Fork mode, not cluster mode: cluster mode
 * shares ONE port between workers and hands connections out round robin,
 * which breaks the stickiness that HTTP long-polling needs.
 */
function instanceApp({ serverId, port, env = {}, interpreter = 'node' }) {
  return {
    name: serverId,
    script: path.join(__dirname, 'server/app/main.ts'),
    cwd: __dirname,
    interpreter,
    // tsx runs the TypeScript source directly (~0.3 s extra at start-up).
    node_args: ['--import', 'tsx'],
    exec_mode: 'fork',
    autorestart: true,
    // Time between PM2's SIGINT and its SIGKILL: room for a graceful drain.
    kill_timeout: 5000,
    merge_logs: true,
    env: { SERVER_ID: serverId, PORT: String(port), ...env },
  };
}

const apps = Array.from({ length: INSTANCES }, (_, i) =>
  instanceApp({
    serverId: `s${i + 1}`,
    port: BASE_PORT + i,
    env: {
      BROADCAST: 'rooms',
      ADAPTER: 'redis',
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6390',
    },
  }),
);

module.exports = { apps, instanceApp };
