// The telemetry hub: every event, from instances and from the lab itself,
// goes through publish(). The hub folds events into one model (instances,
// connected clients, recent messages with expected vs delivered recipients)
// and passes them on to subscribers (the UI's event stream). `lab status` and
// the UI both read this model, so they cannot disagree.

import type { BroadcastKind, Transport } from '../../app/protocol.ts';
import type { InstanceEvent, LabEvent, OmitFrom, SeenAdapter, TelemetryEvent } from './events.ts';

export interface InstanceView {
  serverId: string;
  port: number;
  pid: number | null;
  online: boolean;
  draining: boolean;
  adapter: SeenAdapter | null;
  broadcast: BroadcastKind | null;
}

export interface ClientView {
  socketId: string;
  /** auth.name, or the socket id when the client gave none. */
  clientId: string;
  serverId: string;
  transport: Transport;
  address: string;
  rooms: string[];
  /** room → when this client joined it (instance clock), to judge who was a member when. */
  joinedAt: Record<string, number>;
  recovered: boolean;
}

export interface MessageView {
  msgId: string;
  room: string;
  from: string;
  /** The instance that received it from the sender ('' until its report arrives). */
  origin: string;
  at: number;
  /** Clients in the room, on any instance, when the message was sent. */
  expected: string[];
  /** clientId → the instance that wrote the message to it. */
  delivered: Record<string, string>;
  /** When the origin handed it to the adapter (null: nothing carried it to other instances). */
  publishedAt: number | null;
  /** serverId → when that instance first wrote it to one of its clients. */
  writtenAt: Record<string, number>;
  /** Whether it came in through nginx: the lab's state when the origin received it. */
  viaNginx: boolean;
  /**
   * Fixed once its deliveries had time to arrive (SETTLE_MS after it was sent,
   * by event time): why each missing recipient missed it, as it was then. A
   * later outage or restart never rewrites what this message's row says.
   */
  settled: { missing: Record<string, string> } | null;
}

/** The lesson the learner is on, and what its last check run said: state on the one stream. */
export interface LessonState {
  current: string | null;
  checking: boolean;
  lastCheck: Extract<LabEvent, { t: 'checked' }> | null;
  watch: { file: string | null; state: string } | null;
  /** Predictions graded in this lab run, by "<lesson>/<prediction>": made in the CLI or the UI alike. */
  predicted: Record<string, { right: boolean | null; detail: string }>;
}

export interface HubSnapshot {
  instances: InstanceView[];
  clients: ClientView[];
  messages: MessageView[];
  redis: { port: number; running: boolean } | null;
  nginx: { port: number; mode: string | null } | null;
  stage: { id: string; lesson: string | null; phase: string } | null;
  lesson: LessonState;
}

const MAX_MESSAGES = 500;
/** Deliveries of a message arrive within this (instances report every 100 ms); then its row is final. */
const SETTLE_MS = 1500;
const MAX_EVENTS = 5_000;

export type Listener = (event: TelemetryEvent) => void;

export class TelemetryHub {
  private readonly instances = new Map<string, InstanceView>();
  private readonly clients = new Map<string, ClientView>();
  private readonly messages = new Map<string, MessageView>();
  /** Message ids not settled yet, oldest first. */
  private unsettled: string[] = [];
  private readonly listeners = new Set<Listener>();
  /** Recent events, oldest first (the last MAX_EVENTS to 2 × MAX_EVENTS), for a UI that connects late. */
  readonly recent: TelemetryEvent[] = [];
  private redis: HubSnapshot['redis'] = null;
  private nginx: HubSnapshot['nginx'] = null;
  private stage: HubSnapshot['stage'] = null;
  private lesson: LessonState = { current: null, checking: false, lastCheck: null, watch: null, predicted: {} };
  /** clientId → serverId → when it last connected there (bounded): who the learner's tests were. */
  private readonly seen = new Map<string, { serverId: string; at: number }>();
  /**
   * Sockets that left, by id → their client's name (bounded). A broadcast that
   * still writes to a departed socket (lesson 1's Set without its cleanup) is
   * reported against that socket id: it must still be named, not lost.
   */
  private readonly departed = new Map<string, string>();
  private checkRuns = 0;
  /** Each message's expected clients as a Set (see expect()); dropped with the message. */
  private readonly expectedSets = new WeakMap<MessageView, Set<string>>();
  /**
   * room → its connected members. A message's expected recipients come from
   * its room, not from a scan of every client: with thousands connected,
   * that scan ran once per message, here and in every open page.
   */
  private readonly members = new Map<string, Set<ClientView>>();

  /** Rebuild a hub from a snapshot (the UI does this, then applies the live stream). */
  static fromSnapshot(snap: HubSnapshot): TelemetryHub {
    const hub = new TelemetryHub();
    for (const i of snap.instances) hub.instances.set(i.serverId, { ...i });
    for (const c of snap.clients) hub.addClient({ ...c, rooms: [...c.rooms], joinedAt: { ...c.joinedAt } });
    for (const m of snap.messages) {
      hub.messages.set(m.msgId, {
        ...m,
        expected: [...m.expected],
        delivered: { ...m.delivered },
        writtenAt: { ...m.writtenAt },
        settled: m.settled ? { missing: { ...m.settled.missing } } : null,
      });
      if (!m.settled) hub.unsettled.push(m.msgId);
    }
    hub.redis = snap.redis;
    hub.nginx = snap.nginx;
    hub.stage = snap.stage;
    hub.lesson = { ...snap.lesson, predicted: { ...snap.lesson.predicted } };
    return hub;
  }

  /** Record something the lab itself did. */
  lab(event: OmitFrom<LabEvent, 'at'>): void {
    this.publish({ ...event, at: Date.now() } as LabEvent);
  }

  publish(event: TelemetryEvent): void {
    this.apply(event);
    this.settleUntil(event.at);
    this.recent.push(event);
    // Trim in batches: dropping one event per publish would move the whole array every time.
    if (this.recent.length > 2 * MAX_EVENTS) this.recent.splice(0, this.recent.length - MAX_EVENTS);
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The instances, by port: what the per-second sampler needs, without copying clients and messages. */
  instanceList(): InstanceView[] {
    // By port, then name: in PM2 cluster mode every worker has the same port.
    return [...this.instances.values()].sort(
      (a, b) => a.port - b.port || a.serverId.localeCompare(b.serverId, 'en', { numeric: true }),
    );
  }

  snapshot(): HubSnapshot {
    return {
      instances: this.instanceList(),
      clients: [...this.clients.values()],
      messages: [...this.messages.values()],
      redis: this.redis,
      nginx: this.nginx,
      stage: this.stage,
      lesson: { ...this.lesson },
    };
  }

  /** A number for each check run, so check clients and their message ids never repeat in one lab run. */
  nextCheckRun(): number {
    return ++this.checkRuns;
  }

  /** Clients that connected since `since` (ms epoch), by name, and the instance they reached. */
  clientsSeenSince(since: number): { clientId: string; serverId: string }[] {
    return [...this.seen].filter(([, s]) => s.at >= since).map(([clientId, s]) => ({ clientId, serverId: s.serverId }));
  }

  /** Why a client that was expected to receive a message did not, as far as the lab can tell. */
  missingReason(m: MessageView, clientId: string): string {
    const client = [...this.clients.values()].find((c) => c.clientId === clientId);
    if (!client) return 'disconnected';
    const instance = this.instances.get(client.serverId);
    if (!instance?.online) return `${client.serverId} is down`;
    if (!m.origin || client.serverId === m.origin) return `not delivered by ${client.serverId}`;
    if (this.instances.get(m.origin)?.adapter === 'none')
      return `no adapter: ${m.origin} cannot reach ${client.serverId}`;
    if (this.redis && !this.redis.running) return 'Redis is down';
    return `the adapter did not carry it to ${client.serverId}`;
  }

  connectionsOf(serverId: string): number {
    let n = 0;
    for (const c of this.clients.values()) if (c.serverId === serverId) n++;
    return n;
  }

  message(msgId: string): MessageView | undefined {
    return this.messages.get(msgId);
  }

  /** The load balancer, without copying every client and message (the UI asks once per message drawn). */
  frontDoor(): HubSnapshot['nginx'] {
    return this.nginx;
  }

  /**
   * Add a client to a message's expected list once. A Set beside the list
   * (built on first use) keeps this O(1): with thousands of clients in one
   * room, `expected.includes` per delivery would be quadratic in the room.
   */
  private expect(m: MessageView, clientId: string): void {
    let set = this.expectedSets.get(m);
    if (!set) {
      set = new Set(m.expected);
      this.expectedSets.set(m, set);
    }
    if (set.has(clientId)) return;
    set.add(clientId);
    m.expected.push(clientId);
  }

  private apply(e: TelemetryEvent): void {
    switch (e.t) {
      case 'stage':
        this.stage = { id: e.stage, lesson: e.lesson, phase: e.phase };
        break;
      case 'redis':
        this.redis = { port: e.port, running: e.running };
        break;
      case 'nginx':
        this.nginx = e.mode === null ? null : { port: e.port, mode: e.mode };
        break;
      case 'instance-state': {
        const view = this.instance(e.serverId, e.port);
        if (view.pid !== e.pid || !e.online) this.dropClientsOf(e.serverId);
        Object.assign(view, { pid: e.pid, online: e.online, port: e.port });
        if (!e.online) view.draining = false;
        break;
      }
      case 'instance-removed':
        this.dropClientsOf(e.serverId);
        this.instances.delete(e.serverId);
        break;
      case 'lesson':
        this.lesson = { ...this.lesson, current: e.lesson, lastCheck: null };
        this.messages.clear();
        this.unsettled = [];
        break;
      case 'checking':
        this.lesson = { ...this.lesson, current: e.lesson, checking: true };
        break;
      case 'checked':
        this.lesson = { ...this.lesson, current: e.lesson, checking: false, lastCheck: e };
        break;
      case 'watch':
        this.lesson = { ...this.lesson, watch: e.state === 'stopped' ? null : { file: e.file, state: e.state } };
        break;
      case 'predicted':
        this.lesson = {
          ...this.lesson,
          predicted: {
            ...this.lesson.predicted,
            [`${e.lesson}/${e.prediction}`]: { right: e.right, detail: e.detail },
          },
        };
        break;
      case 'progress':
      case 'fleet':
      case 'stats':
      case 'handshake-failed':
        break;
      default:
        this.applyInstanceEvent(e);
    }
  }

  private applyInstanceEvent(e: InstanceEvent): void {
    switch (e.t) {
      case 'instance-up': {
        const view = this.instance(e.serverId, e.port);
        // A new process for this id: whatever the old one held is gone.
        if (view.pid !== e.pid) this.dropClientsOf(e.serverId);
        Object.assign(view, {
          pid: e.pid,
          port: e.port,
          online: true,
          draining: false,
          adapter: e.adapter,
          broadcast: e.broadcast,
        });
        break;
      }
      case 'connected':
        this.seen.set(e.clientId, { serverId: e.serverId, at: e.at });
        if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value!);
        this.addClient({
          socketId: e.socketId,
          clientId: e.clientId,
          serverId: e.serverId,
          transport: e.transport,
          address: e.address,
          rooms: [],
          joinedAt: {},
          recovered: e.recovered,
        });
        break;
      case 'upgraded': {
        const c = this.clients.get(e.socketId);
        if (c) c.transport = e.transport;
        break;
      }
      case 'joined': {
        const c = this.clients.get(e.socketId);
        if (!c || c.rooms.includes(e.room)) break;
        c.rooms.push(e.room);
        c.joinedAt[e.room] = e.at;
        this.memberSet(e.room).add(c);
        // Reports from different instances arrive in any order: a join reported
        // late still makes this client expected for messages sent after it.
        for (const m of this.messages.values()) {
          if (m.room === e.room && m.at >= e.at) this.expect(m, c.clientId);
        }
        break;
      }
      case 'disconnected':
        // A recovered session keeps its socket id on its new instance: the old
        // instance's late goodbye must not remove the client from where it is now.
        if (this.clients.get(e.socketId)?.serverId === e.serverId) {
          this.departed.set(e.socketId, this.clients.get(e.socketId)!.clientId);
          if (this.departed.size > 5000) this.departed.delete(this.departed.keys().next().value!);
          this.removeClient(this.clients.get(e.socketId)!);
        }
        break;
      // Instances flush on their own clocks, so a remote instance's 'delivered'
      // can arrive before the origin's 'received': either one opens the record.
      case 'received': {
        const m = this.messageRecord(e.msgId, e.at);
        // Expected: every client that had joined the room when the message was sent (by event time).
        for (const c of this.members.get(e.room) ?? []) {
          const joined = c.joinedAt[e.room];
          if (joined !== undefined && joined <= e.at) this.expect(m, c.clientId);
        }
        Object.assign(m, {
          room: e.room,
          from: e.from,
          origin: e.serverId,
          at: e.at,
          publishedAt: e.publishedAt,
          viaNginx: this.nginx !== null,
        });
        break;
      }
      case 'delivered':
        for (const d of e.deliveries) {
          const m = this.messageRecord(d.msgId, d.at);
          m.writtenAt[e.serverId] ??= d.at;
          for (const socketId of d.socketIds) {
            const clientId = this.clients.get(socketId)?.clientId ?? this.departed.get(socketId) ?? socketId;
            m.delivered[clientId] = e.serverId;
            // A server delivered it to a room member: that member was expected, whatever we had heard.
            this.expect(m, clientId);
          }
        }
        break;
      case 'draining': {
        const view = this.instances.get(e.serverId);
        if (view) view.draining = true;
        break;
      }
      case 'refused':
      case 'sample':
        break;
    }
  }

  /** Settle every message sent SETTLE_MS or more before `now` (event time, so a replay settles alike). */
  private settleUntil(now: number): void {
    while (this.unsettled.length > 0) {
      const m = this.messages.get(this.unsettled[0]!);
      if (m && now - m.at < SETTLE_MS) return;
      this.unsettled.shift();
      if (!m || m.settled) continue;
      const missing: Record<string, string> = {};
      for (const id of m.expected) if (!(id in m.delivered)) missing[id] = this.missingReason(m, id);
      m.settled = { missing };
    }
  }

  private messageRecord(msgId: string, at: number): MessageView {
    let m = this.messages.get(msgId);
    if (!m) {
      m = {
        msgId,
        room: '',
        from: '',
        origin: '',
        at,
        expected: [],
        delivered: {},
        publishedAt: null,
        writtenAt: {},
        viaNginx: this.nginx !== null,
        settled: null,
      };
      this.messages.set(msgId, m);
      this.unsettled.push(msgId);
      if (this.messages.size > MAX_MESSAGES) this.messages.delete(this.messages.keys().next().value!);
    }
    return m;
  }

  private instance(serverId: string, port: number): InstanceView {
    let view = this.instances.get(serverId);
    if (!view) {
      view = { serverId, port, pid: null, online: false, draining: false, adapter: null, broadcast: null };
      this.instances.set(serverId, view);
    }
    return view;
  }

  private dropClientsOf(serverId: string): void {
    for (const c of [...this.clients.values()]) if (c.serverId === serverId) this.removeClient(c);
  }

  /** A client connected (a socket id seen again replaces its old record, rooms included). */
  private addClient(c: ClientView): void {
    const old = this.clients.get(c.socketId);
    if (old) this.removeClient(old);
    this.clients.set(c.socketId, c);
    for (const room of c.rooms) this.memberSet(room).add(c);
  }

  private removeClient(c: ClientView): void {
    this.clients.delete(c.socketId);
    for (const room of c.rooms) {
      const set = this.members.get(room);
      set?.delete(c);
      if (set?.size === 0) this.members.delete(room);
    }
  }

  private memberSet(room: string): Set<ClientView> {
    let set = this.members.get(room);
    if (!set) {
      set = new Set();
      this.members.set(room, set);
    }
    return set;
  }
}
