// Loaded into every instance the lab runs, before the app (node --import):
// it catches the Socket.IO server the app creates and instruments it from
// outside (instrument.ts), when LAB_TELEMETRY_URL says where to report. A plain `pm2 start ecosystem.config.js` loads none
// of this, and the app runs exactly as written.

import { Server } from 'socket.io';
import { readConfig, type BroadcastKind } from '../../app/config.ts';
import { instrument, registerLabRoutes } from './instrument.ts';
import { createSender, type Sender } from './sender.ts';

/**
 * The sender, made when the first server attaches, not at load time: a PM2
 * cluster-mode worker receives its environment (LAB_TELEMETRY_URL, SERVER_ID…)
 * from PM2's process container, which runs after this preload.
 */
let probe: { sender: Sender; broadcast: BroadcastKind } | null | undefined;
function probeOf(): typeof probe {
  if (probe !== undefined) return probe;
  const url = process.env.LAB_TELEMETRY_URL;
  probe = null;
  if (!url) return probe;
  try {
    // The same rules the app applies to its own settings; if they are bad, the
    // app refuses to start and says why, so the probe stays quiet.
    const config = readConfig();
    const sender = createSender({ url, token: process.env.LAB_TELEMETRY_TOKEN ?? '', serverId: config.serverId });
    probe = { sender, broadcast: config.broadcast };
  } catch {
    probe = null;
  }
  return probe;
}

// Every Server attaches to its HTTP server in its constructor (and
// io.listen() is attach() too): the first moment both exist.
const attach = Server.prototype.attach;
Server.prototype.attach = function (this: Server, ...args: Parameters<Server['attach']>) {
  const result = attach.apply(this, args);
  // The lab's own routes (/lab/memory) are there even with telemetry off, so
  // the bench measures memory the same way in both.
  registerLabRoutes(this);
  const found = probeOf();
  if (found) instrument(this, { sender: found.sender, broadcast: found.broadcast });
  return result;
};
