// Everything a client sends is untrusted: any type, any size, any shape.
// These checks turn bad input into a clear `{ ok: false, error }` instead of a crash.

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** Room names: short, printable, no surprises in logs or Redis channel names. */
const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const MSG_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const CLIENT_NAME = /^[\p{L}\p{N}_.:@ -]{1,40}$/u;

export interface ChatInput {
  room: string;
  text: string;
  msgId?: string;
}

export function parseRoom(room: unknown): Result<string> {
  if (typeof room !== 'string') return { ok: false, error: `room must be a string, got ${typeName(room)}` };
  if (!ROOM_NAME.test(room)) {
    return { ok: false, error: 'room must be 1-32 letters, digits, "-" or "_", starting with a letter or digit' };
  }
  return { ok: true, value: room };
}

export function parseChat(input: unknown, maxTextLength: number): Result<ChatInput> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: `chat payload must be an object { room, text, msgId? }, got ${typeName(input)}` };
  }
  // Read only the fields we know, as own properties: a payload shaped like
  // { "__proto__": … } or { "constructor": … } contributes nothing.
  const field = (key: string): unknown =>
    Object.hasOwn(input, key) ? (input as Record<string, unknown>)[key] : undefined;

  const room = parseRoom(field('room'));
  if (!room.ok) return room;
  const text = field('text');
  if (typeof text !== 'string') return { ok: false, error: `text must be a string, got ${typeName(text)}` };
  if (text.length === 0) return { ok: false, error: 'text is empty' };
  if (text.length > maxTextLength)
    return { ok: false, error: `text is ${text.length} characters; the limit is ${maxTextLength}` };
  const msgId = field('msgId');
  if (msgId !== undefined && (typeof msgId !== 'string' || !MSG_ID.test(msgId))) {
    return { ok: false, error: 'msgId, when given, must be 1-64 letters, digits or _ . : -' };
  }
  return { ok: true, value: msgId === undefined ? { room: room.value, text } : { room: room.value, text, msgId } };
}

/** The name a client gave in `auth: { name }`, if it is a sensible one. */
export function clientName(auth: unknown): string | undefined {
  if (typeof auth !== 'object' || auth === null || !Object.hasOwn(auth, 'name')) return undefined;
  const name = (auth as { name: unknown }).name;
  return typeof name === 'string' && CLIENT_NAME.test(name) ? name : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
