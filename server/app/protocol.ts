// The chat protocol, written once. Socket.IO types a server and its clients
// with four event maps; the server, the lab's simulated clients, its checks,
// its CLI, the UI and the chat page all use these.
//
//   handshake  auth: { name }
//   server →   welcome { serverId, pid, port, transport }           on connect
//   client →   join (room, ack)            ack JoinReply
//   client →   chat ({ room, text, msgId? }, ack?)   ack ChatReply; every member gets `chat` ChatMessage
//   client →   who (room, ack)             ack WhoReply    (lesson 12)
//   client →   stats (ack)                 ack StatsReply  (lesson 12)
//   server →   draining { serverId }       this instance is shutting down: expect to reconnect
//   GET /health → Health

// The choices the protocol reports (welcome, /health); config.ts validates
// settings against the same lists. This file needs nothing from Node, so the
// browser code (the UI, the chat page) type-checks against it as well.
export const TRANSPORTS = ['polling', 'websocket'] as const;
export type Transport = (typeof TRANSPORTS)[number];
export const BROADCASTS = ['naive-set', 'rooms'] as const;
export type BroadcastKind = (typeof BROADCASTS)[number];
export const ADAPTERS = ['none', 'redis', 'redis-streams'] as const;
export type AdapterKind = (typeof ADAPTERS)[number];

/** Refusals look the same everywhere: a reason a person can read. */
export interface Failure {
  ok: false;
  error: string;
}

export interface ChatInput {
  room: string;
  text: string;
  /** Chosen by the sender to follow its message; the server makes one up without it. */
  msgId?: string;
}

export interface ChatMessage {
  msgId: string;
  room: string;
  text: string;
  /** The sender's name. */
  from: string;
  /** The instance that received the message from its sender. */
  serverId: string;
}

export interface Welcome {
  serverId: string;
  pid: number;
  port: number;
  transport: Transport;
}

export interface Member {
  name: string;
  serverId: string;
}

export type JoinReply = { ok: true; serverId: string; room: string } | Failure;
export type ChatReply = { ok: true; msgId: string; serverId: string } | Failure;
export type WhoReply = { ok: true; room: string; members: Member[] } | Failure;
export type StatsReply = { ok: true; servers: Record<string, number>; total: number } | Failure;

/** What a client may send (and how a well-behaved client calls it). */
export interface ClientToServerEvents {
  join(room: string, ack: (reply: JoinReply) => void): void;
  chat(input: ChatInput, ack?: (reply: ChatReply) => void): void;
  who(room: string, ack: (reply: WhoReply) => void): void;
  stats(ack: (reply: StatsReply) => void): void;
}

/**
 * The same events as the server receives them: from the network, so every
 * argument is `unknown` until validated (a client may send anything at all).
 */
export type UntrustedClientEvents = { [E in keyof ClientToServerEvents]: (...args: unknown[]) => void };

export interface ServerToClientEvents {
  welcome(welcome: Welcome): void;
  chat(message: ChatMessage): void;
  draining(notice: { serverId: string }): void;
}

/** Between instances, through the adapter: "how many clients have you?" (lesson 12). */
export interface InterServerEvents {
  count(reply: (answer: { serverId: string; connections: number }) => void): void;
}

/** Kept on every socket; fetchSockets() returns it from every instance. */
export type SocketData = Member;

/** GET /health: 200, or 503 while draining (so anything polling it stops sending us clients). */
export interface Health {
  serverId: string;
  pid: number;
  port: number;
  connections: number;
  adapter: AdapterKind;
  broadcast: BroadcastKind;
  draining: boolean;
}
