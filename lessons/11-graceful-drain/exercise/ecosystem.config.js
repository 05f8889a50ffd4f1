// How PM2 runs the chat servers. Two readers:
//
//   pm2 start ecosystem.config.js   runs three instances on their own (ports
//        3101-3103 by default, so it can run next to the lab, which uses
//        3001-3003), sharing rooms through the Redis adapter. It needs a Redis
//        on REDIS_URL (default: the lab's, redis://127.0.0.1:6390). Then try
//        `npx pm2 ls`, `npx pm2 logs`, `npx pm2 monit`, `npx pm2 delete all`.
//   the lab                         calls chatApps() below for every stage, so
//        what you write here is what the lab runs (lessons 6 and 11).
//
// CommonJS on purpose: PM2 cannot load an ESM ecosystem file. The server code
// itself is ESM (server/package.json says "type": "module").

/**
 * The PM2 apps that run `instances` chat servers.
 *
 * Fork mode, one app per instance, each on its own port: nginx chooses the
 * instance, and keeps every request of a session on it. (PM2's cluster mode
 * would put every worker on ONE port and hand out connections in turn: lesson 6.)
 *
 * @param {object} o
 * @param {number} o.instances how many chat servers
 * @param {string} o.script the server to run
 * @param {(i: number) => InstanceEnv} o.envOf instance i's environment: its id (SERVER_ID, s1 for
 *   i = 0), its PORT, and the stage's settings
 * @returns {import('./server/lab/services/ecosystem.ts').Pm2App[]}
 *
 * @typedef {import('./server/lab/services/ecosystem.ts').InstanceEnv} InstanceEnv
 */
function chatApps({ instances, script, envOf }) {
  return Array.from({ length: instances }, (_, i) => {
    const env = envOf(i);
    return {
      name: env.SERVER_ID,
      script,
      exec_mode: 'fork',
      // TODO (lesson 11): PM2 sends SIGKILL kill_timeout ms after its SIGINT
      // (1600 ms unless you say otherwise), whatever the app is still doing.
      env,
    };
  });
}

const exported = { chatApps };

// What `pm2 start ecosystem.config.js` reads. A getter, so nothing runs when
// the lab loads this file for chatApps().
Object.defineProperty(exported, 'apps', {
  enumerable: true,
  get() {
    const path = require('node:path');
    // The env names come from the app's own settings table (server/app/config.ts).
    const { toEnv } = require('tsx/cjs/api').require('./server/app/config.ts', __filename);
    const basePort = Number(process.env.BASE_PORT || 3101);
    const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6390';
    return chatApps({
      instances: Number(process.env.INSTANCES || 3),
      script: path.join(__dirname, 'server/app/main.ts'),
      envOf: (i) => toEnv({ serverId: `s${i + 1}`, port: basePort + i, redisUrl, redisKey: 'chat-pm2' }),
    }).map((app) => ({ ...app, cwd: __dirname, interpreter: 'node', node_args: ['--import', 'tsx'] }));
  },
});

module.exports = exported;
