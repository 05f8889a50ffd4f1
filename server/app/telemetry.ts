// The one seam between the chat server and the lab around it.
//
// The server reports what it sees (who connected, what it received, whom it
// delivered to) to a Probe. Outside the lab the probe does nothing. Inside the
// lab it sends reports straight to the lab's control plane, OUT OF BAND: never
// through Socket.IO or Redis, so a stage without an adapter is really broken,
// and the lab still sees it break.

import type { AppConfig, Transport } from './config.ts';

export interface Probe {
  instanceUp(info: { pid: number; port: number; adapter: AppConfig['adapter']; broadcast: AppConfig['broadcast'] }): void;
  connected(c: { socketId: string; clientId: string; transport: Transport; address: string; recovered: boolean }): void;
  upgraded(socketId: string, transport: Transport): void;
  joined(socketId: string, room: string): void;
  disconnected(socketId: string, reason: string): void;
  refused(address: string, reason: string): void;
  /** A client sent a chat message to this instance (this instance is its origin). */
  received(m: { msgId: string; room: string; from: string; socketId: string }): void;
  /** This instance wrote a chat message to one of its own sockets. */
  delivered(msgId: string, socketId: string): void;
  draining(): void;
  /** Send whatever is still buffered; called before the process exits. */
  flush(): Promise<void>;
}

const nothing = (): void => {};
export const silentProbe: Probe = {
  instanceUp: nothing,
  connected: nothing,
  upgraded: nothing,
  joined: nothing,
  disconnected: nothing,
  refused: nothing,
  received: nothing,
  delivered: nothing,
  draining: nothing,
  flush: async () => {},
};

/** The lab sets LAB_TELEMETRY_URL; a plain `pm2 start ecosystem.config.js` does not. */
export async function loadProbe(serverId: string): Promise<Probe> {
  const url = process.env.LAB_TELEMETRY_URL;
  if (!url) return silentProbe;
  const { createHttpProbe } = await import('../lab/telemetry/probe.ts');
  return createHttpProbe({ url, token: process.env.LAB_TELEMETRY_TOKEN ?? '', serverId });
}
