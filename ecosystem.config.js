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

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const BASE_PORT = Number(process.env.BASE_PORT || 3001);
const INSTANCES = Number(process.env.INSTANCES || 3);

/** How server/app (TypeScript) becomes one ES module that plain `node` runs. */
function serverBuildOptions() {
  return {
    entryPoints: [path.join(__dirname, 'server/app/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external', // socket.io, redis, … are loaded from node_modules
    sourcemap: 'inline', // stack traces point at the .ts lines you wrote
    write: false,
  };
}

/**
 * Store a bundle under a name made of its content: unchanged code gives the
 * same file, and an edit to server/app gives a new one (the lab restarts
 * exactly the instances that still run the old code).
 */
function writeBundle(code) {
  const hash = crypto.createHash('sha1').update(code).digest('hex').slice(0, 12);
  // Inside the repo, so `import 'socket.io'` resolves from its node_modules.
  const dir = path.join(__dirname, '.lab', 'build');
  const file = path.join(dir, `server-${hash}.mjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file); // atomic: a concurrent build never sees half a file
  }
  return file;
}

/**
 * Bundle server/app with esbuild: ~10 ms, and each instance then starts
 * ~250 ms sooner than compiling TypeScript on the fly.
 */
function buildServer() {
  const { outputFiles } = require('esbuild').buildSync(serverBuildOptions());
  return writeBundle(outputFiles[0].contents);
}

/** What every chat process gets from PM2, whichever mode runs it. */
function runtime(script) {
  return {
    script,
    cwd: __dirname,
    // --expose-gc: `GET /health?gc=1` collects garbage before reporting memory (npm run bench).
    node_args: ['--enable-source-maps', '--expose-gc'],
    autorestart: true,
    // Time between PM2's SIGINT and its SIGKILL: room for a graceful drain.
    kill_timeout: 5000,
    merge_logs: true,
  };
}

/**
 * One PM2 app = one chat instance. Fork mode, not cluster mode: cluster mode
 * shares ONE port between workers and hands connections out round robin,
 * which breaks the stickiness that HTTP long-polling needs.
 */
function instanceApp({ serverId, port, script, env = {}, interpreter = 'node' }) {
  return {
    ...runtime(script),
    name: serverId,
    interpreter,
    exec_mode: 'fork',
    env: { SERVER_ID: serverId, PORT: String(port), ...env },
  };
}

/**
 * Lesson 6's counter-example: the same server in PM2 cluster mode. PM2 starts
 * `instances` workers that all listen on ONE port; PM2 accepts each TCP
 * connection and hands it to the next worker in turn. A WebSocket is one
 * connection, so it stays put; but every HTTP long-polling request is a new
 * connection, and the next one usually reaches a worker that never saw the
 * session: HTTP 400 "Session ID unknown". Each worker gets NODE_APP_INSTANCE
 * (0, 1, …), which server/app/config.ts turns into s1, s2, …
 */
function clusterApp({ name, instances, port, script, env = {} }) {
  return { ...runtime(script), name, exec_mode: 'cluster', instances, env: { PORT: String(port), ...env } };
}

const script = buildServer();
const apps = Array.from({ length: INSTANCES }, (_, i) =>
  instanceApp({
    serverId: `s${i + 1}`,
    port: BASE_PORT + i,
    script,
    env: {
      BROADCAST: 'rooms',
      ADAPTER: 'redis',
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6390',
    },
  }),
);

module.exports = { apps, instanceApp, clusterApp, buildServer, serverBuildOptions, writeBundle };
