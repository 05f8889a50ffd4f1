// The control API, as the UI uses it. The token comes with the page (the lab
// writes it into index.html); other origins can neither read it nor call us.

const token = document.querySelector<HTMLMetaElement>('meta[name="lab-token"]')?.content ?? '';

export function eventsUrl(): string {
  return `/api/events?token=${encodeURIComponent(token)}`;
}

export async function read<T>(name: string): Promise<T> {
  const res = await fetch(`/api/${name}`);
  if (!res.ok) throw new Error(`GET /api/${name}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** POST an action; resolves with its result, or rejects with the lab's own explanation. */
export async function act<T = unknown>(name: string, body: object): Promise<T> {
  const res = await fetch(`/api/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lab-token': token },
    body: JSON.stringify(body),
  });
  const reply = (await res.json()) as { ok: boolean; result?: T; error?: string };
  if (!res.ok || !reply.ok) throw new Error(reply.error ?? `HTTP ${res.status}`);
  return reply.result as T;
}
