// The topology with more clients than it draws one by one: a real lab, a few
// dozen fleet clients and a small threshold (?aggregate=20&sample=3), so the
// aggregated view is reached quickly. What must hold at any scale: the counts
// are the lab's, and "where is client X?" has an answer for every client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Lab } from '../../server/lab/lab.ts';
import { ensureWebBuilt } from '../../server/lab/web-build.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { connectClient, startLab, until } from '../helpers/lab.ts';

const THRESHOLD = 20;
const SAMPLE = 3;

describe('the topology aggregates above its threshold, in Chromium', () => {
  let lab: Lab;
  let browser: Browser;
  let ui: Page;
  before(async () => {
    await ensureWebBuilt(() => {});
    [lab, browser] = await Promise.all([startLab('scaled'), launchBrowser()]);
    ui = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await ui.goto(`${lab.control.url}?aggregate=${THRESHOLD}&sample=${SAMPLE}`);
    await ui.getByText('live', { exact: true }).first().waitFor();
  });
  after(async () => {
    await browser?.close();
    await lab?.down();
  });

  const aggregated = async (): Promise<string | null> => ui.locator('#topology').getAttribute('data-aggregated');
  /** Per instance, what its count says: total and per transport. */
  const shownCounts = async (): Promise<Record<string, { total: number; websocket: number; polling: number }>> =>
    ui.$$eval('[data-testid^="instance-count-"]', (nodes) =>
      Object.fromEntries(
        nodes.map((n) => [
          n.getAttribute('data-testid')!.slice('instance-count-'.length),
          {
            total: Number(n.getAttribute('data-count')),
            websocket: Number(n.getAttribute('data-websocket')),
            polling: Number(n.getAttribute('data-polling')),
          },
        ]),
      ),
    );
  const countsMatchStatus = async (): Promise<boolean> => {
    const shown = await shownCounts();
    return lab.status().instances.every((i) => shown[i.serverId]?.total === i.connections);
  };

  test('above the threshold: exact counts per instance, a bounded sample, and search finds a client that is not drawn', async () => {
    const clients = await lab.fleet.add(36, { rooms: ['lobby'] });
    const connected = clients.filter((c) => c.socket.connected);
    assert.equal(connected.length, 36, 'every fleet client connected');
    const spread = new Set(connected.map((c) => c.serverId));
    assert.ok(spread.size >= 2, `clients really spread over instances (${[...spread].join(', ')})`);
    // A learner's own script among them: drawn even when the fleet is only sampled.
    const own = await connectClient(`http://127.0.0.1:${lab.settings.ports.nginx}`, 'my-own-tab', {
      transports: ['websocket'],
    });
    try {
      await until('the view aggregates', async () => (await aggregated()) === 'true', 8000);
      await until('the page counts what lab status counts', countsMatchStatus, 8000);

      const status = lab.status().instances;
      assert.equal(
        status.reduce((n, i) => n + i.connections, 0),
        37,
        'lab status holds all 37 clients',
      );
      const shown = await shownCounts();
      for (const i of status) {
        const c = shown[i.serverId]!;
        assert.equal(c.total, i.connections, `${i.serverId}: the count is lab status's`);
        assert.equal(c.websocket + c.polling, c.total, `${i.serverId}: per transport adds up`);
        const chips = await ui.locator(`section[data-server-id="${i.serverId}"] [data-client-id]`).count();
        assert.ok(chips <= SAMPLE, `${i.serverId}: at most ${SAMPLE} chips drawn, got ${chips}`);
        assert.ok(chips >= Math.min(SAMPLE, i.connections), `${i.serverId}: a sample is drawn (${chips})`);
      }
      assert.equal(await ui.locator('[data-client-id="my-own-tab"]').getAttribute('data-server-id'), own.serverId);

      const drawn = new Set(
        await ui.$$eval('[data-client-id]', (nodes) => nodes.map((n) => n.getAttribute('data-client-id'))),
      );
      const hidden = connected.find((c) => !drawn.has(c.id));
      assert.ok(hidden, 'some client is not drawn');
      await ui.getByTestId('client-search').fill(hidden.id);
      const row = ui.locator(`[data-testid="client-search-result"] [data-result-client-id="${hidden.id}"]`);
      await row.waitFor({ timeout: 5000 });
      assert.equal(await row.getAttribute('data-result-server-id'), hidden.serverId, 'search names its instance');
      assert.equal(await row.getAttribute('data-drawn'), 'false');
      const text = (await row.textContent()) ?? '';
      assert.match(text, new RegExp(`is on ${hidden.serverId} `));
      assert.match(text, /#lobby/, 'and its rooms');
      // The first result is the exact name, not c1x that merely starts with it.
      assert.equal(
        await ui.locator('[data-testid="client-search-result"] li').first().getAttribute('data-result-client-id'),
        hidden.id,
      );

      await ui.getByTestId('client-search').fill('nobody-by-this-name');
      await ui.getByText('no connected client is named like "nobody-by-this-name"').waitFor();
      await ui.getByTestId('client-search').fill('');
    } finally {
      own.socket.close();
    }
  });

  test('back under the threshold, every client is drawn again', async () => {
    const ids = lab.fleet.list().map((c) => c.id);
    lab.fleet.remove(ids.slice(0, ids.length - 10));
    await until('the view draws one by one', async () => (await aggregated()) === 'false', 8000);
    await until('the page counts what lab status counts', countsMatchStatus, 8000);
    await until('ten chips', async () => (await ui.locator('[data-client-id]').count()) === 10, 8000);
  });
});
