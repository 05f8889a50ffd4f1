// Loaded into every instance the lab runs, before the app (node --import):
// it catches the Socket.IO server the app creates and instruments it from
// outside (instrument.ts). A plain `pm2 start ecosystem.config.js` loads none
// of this, and the app runs exactly as written.

import { Server } from 'socket.io';
import { readConfig } from '../../app/config.ts';
import { instrument } from './instrument.ts';
import { createSender } from './sender.ts';

const url = process.env.LAB_TELEMETRY_URL;
if (url) {
  // The same rules the app applies to its own settings; if they are bad, the
  // app refuses to start and says why, so the probe stays quiet.
  let config: ReturnType<typeof readConfig> | null = null;
  try {
    config = readConfig();
  } catch {
    config = null;
  }
  if (config) {
    const sender = createSender({ url, token: process.env.LAB_TELEMETRY_TOKEN ?? '', serverId: config.serverId });
    const { broadcast } = config;
    // Every Server attaches to its HTTP server in its constructor (and
    // io.listen() is attach() too): the first moment both exist.
    const attach = Server.prototype.attach;
    Server.prototype.attach = function (this: Server, ...args: Parameters<Server['attach']>) {
      const result = attach.apply(this, args);
      instrument(this, { sender, broadcast });
      return result;
    };
  }
}
