// Helpers for your own tests: open the lab's chat page as a user would, on
// the instance you want, and talk through it. The lab's address comes from
// LAB_URL (default: the lab's UI, http://127.0.0.1:4000, or on LAB_UI_PORT).

import type { Browser, Locator, Page } from '@playwright/test';

export const labUrl = process.env.LAB_URL ?? `http://127.0.0.1:${process.env.LAB_UI_PORT ?? 4000}`;

export interface ChatTab {
  page: Page;
  name: string;
  /** The instance this tab is connected to (s1, s2, …), as its welcome said. */
  serverId: string;
  join(room: string): Promise<void>;
  send(text: string): Promise<void>;
  /** Every line this tab has shown, newest first. */
  messages: Locator;
}

interface LabStatus {
  nginx: { port: number } | null;
  instances: { serverId: string; online: boolean }[];
}

/**
 * A chat tab named `name`, connected. With `notOn`, on any instance but that
 * one: straight to another instance when the stage has no load balancer, or
 * through nginx from another (pretend) network until it lands elsewhere.
 */
export async function openChat(browser: Browser, name: string, opts: { notOn?: string } = {}): Promise<ChatTab> {
  const status = (await (await fetch(`${labUrl}/api/status`)).json()) as LabStatus;
  const others = status.instances.filter((i) => i.online && i.serverId !== opts.notOn);
  if (others.length === 0) {
    throw new Error(`no instance to open "${name}" on besides ${opts.notOn}: is the lab in a stage with two or more?`);
  }
  for (let attempt = 1; attempt <= 16; attempt++) {
    // nginx trusts X-Forwarded-For from loopback (realip), and ip_hash spreads by it.
    const context = await browser.newContext({
      extraHTTPHeaders: { 'X-Forwarded-For': `10.${attempt}.${name.length}.7` },
    });
    const page = await context.newPage();
    const instance = status.nginx ? '' : `&instance=${others[(attempt - 1) % others.length]!.serverId}`;
    await page.goto(`${labUrl}/chat.html?name=${encodeURIComponent(name)}${instance}&autoconnect`);
    const server = page.getByTestId('chat-server');
    await server.and(page.locator('[data-server-id]')).waitFor({ timeout: 10_000 });
    const serverId = (await server.getAttribute('data-server-id')) ?? '';
    if (serverId === opts.notOn) {
      await context.close();
      continue;
    }
    return {
      page,
      name,
      serverId,
      messages: page.getByTestId('chat-log'),
      async join(room) {
        await page.getByTestId('chat-room').fill(room);
        await page.getByTestId('chat-join').click();
        await page.getByTestId('chat-log').getByText(`joined #${room}`).first().waitFor();
      },
      async send(text) {
        await page.getByTestId('chat-text').fill(text);
        await page.getByTestId('chat-send').click();
      },
    };
  }
  throw new Error(`"${name}" landed on ${opts.notOn} sixteen times in a row: is the load balancer spreading clients?`);
}
