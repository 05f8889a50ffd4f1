// The lab UI in a real browser against a real stack: what a learner sees.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Lab } from '../../server/lab/lab.ts';
import { ensureWebBuilt } from '../../server/lab/web-build.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { startLab, until } from '../helpers/lab.ts';

describe('the lab UI, in Chromium', () => {
  let lab: Lab;
  let browser: Browser;
  let ui: Page;
  before(async () => {
    await ensureWebBuilt(() => {});
    [lab, browser] = await Promise.all([startLab('scaled'), launchBrowser()]);
    ui = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await ui.goto(lab.control.url);
    await ui.getByText('live', { exact: true }).first().waitFor();
  });
  after(async () => {
    await browser?.close();
    await lab?.down();
  });

  /** serverId of every client node in the page, by client id. */
  const shownClients = async (): Promise<Record<string, string>> =>
    ui.$$eval('[data-client-id]', (nodes) =>
      Object.fromEntries(nodes.map((n) => [n.getAttribute('data-client-id'), n.getAttribute('data-server-id')])),
    );

  test('fleet clients spread by ip_hash appear on their real instances, as status and their welcome say', async () => {
    const clients = await lab.fleet.add(6, { rooms: ['lobby'] });
    await until(
      'all six shown',
      async () => Object.keys(await shownClients()).filter((id) => /^c\d+$/.test(id)).length === 6,
      8000,
    );
    const shown = await shownClients();
    for (const c of clients)
      assert.equal(shown[c.id], c.serverId, `${c.id}: the page agrees with the client's welcome`);
    assert.ok(new Set(clients.map((c) => c.serverId)).size >= 2);
    for (const i of lab.status().instances) {
      const onCard = await ui.locator(`section[data-server-id="${i.serverId}"] [data-client-id]`).count();
      assert.equal(onCard, i.connections, `${i.serverId}: the page and lab status agree`);
      assert.equal(await ui.locator(`section[data-server-id="${i.serverId}"] h3`).textContent(), i.serverId);
    }
  });

  test('two real browser pages on different instances chat, and the flow view shows the hop through Redis', async () => {
    const nginx = `http://127.0.0.1:${lab.settings.ports.nginx}`;
    // Each "user" claims its own network in X-Forwarded-For; nginx (realip, loopback only) hashes on it.
    const pages: { page: Page; serverId: string; name: string }[] = [];
    for (let n = 1; n <= 6 && pages.length < 2; n++) {
      const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': `127.0.${n}.7` } });
      const page = await context.newPage();
      const name = `user${n}`;
      await page.goto(`${lab.control.url}chat.html?url=${encodeURIComponent(nginx)}&name=${name}&autoconnect`);
      const server = page.getByTestId('chat-server');
      await until(`${name} connected`, async () => (await server.getAttribute('data-server-id')) ?? undefined);
      const serverId = (await server.getAttribute('data-server-id'))!;
      if (pages.some((p) => p.serverId === serverId)) await context.close();
      else pages.push({ page, serverId, name });
    }
    assert.equal(pages.length, 2, 'two pages on two different instances');
    const [alice, bob] = pages as [(typeof pages)[0], (typeof pages)[0]];
    for (const p of pages) {
      await p.page.getByTestId('chat-join').click();
      await p.page.getByText('joined #lobby').waitFor();
    }
    // The text is hostile on purpose: it must arrive as text.
    const text = '<img src=x onerror="window.__pwned=1"> hello from the other instance';
    await alice.page.getByTestId('chat-text').fill(text);
    await alice.page.getByTestId('chat-send').click();
    await bob.page.getByText(`${alice.name} (via ${alice.serverId}) in #lobby: ${text}`).waitFor();
    assert.equal(await bob.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await bob.page.locator('.chat-log img').count(), 0);

    // In the lab UI: the message went origin → redis → bob's instance, and reached everyone.
    const row = ui.locator('.message', { hasText: `${alice.name} → #lobby` }).first();
    await row.waitFor();
    await until('route shown', async () =>
      ((await row.getAttribute('data-route')) ?? '').includes(`${alice.serverId}>redis>`),
    );
    assert.match((await row.getAttribute('data-route'))!, new RegExp(`^${alice.serverId}>redis>.*${bob.serverId}`));
    await until('all delivered', async () =>
      /delivered (\d+)\/\1$/.test(((await row.getByTestId('delivered').textContent()) ?? '').trim()),
    );
    for (const p of pages) await p.page.context().close();
  });

  test('killing an instance from the UI moves its clients to the survivors, in the view', async () => {
    const victim = lab.fleet.list().find((c) => c.serverId)!.serverId!;
    const ids = lab.fleet.list().map((c) => c.id);
    await ui.getByTestId(`stop-${victim}`).click();
    await ui.locator(`section[data-server-id="${victim}"].offline`).waitFor();
    await until(
      'every fleet client shown on a survivor',
      async () => {
        const shown = await shownClients();
        return ids.every((id) => shown[id] !== undefined && shown[id] !== victim);
      },
      15_000,
    );
    assert.equal(await ui.locator(`section[data-server-id="${victim}"] [data-client-id]`).count(), 0);
    await ui.getByTestId(`start-${victim}`).click();
    await ui.locator(`section[data-server-id="${victim}"]:not(.offline)`).waitFor();
  });

  test('in a stage with no adapter, the page marks the recipients that never got the message, and why', async () => {
    await ui.getByTestId('stage-select').selectOption('split');
    await ui.getByTestId('stage-apply').click();
    await ui.getByText('stage split · applied').waitFor({ timeout: 15_000 });
    await until(
      'fleet back on s1 and s2',
      () => lab.fleet.list().every((c) => c.socket.connected && c.serverId),
      10_000,
    );
    await until(
      'rooms rejoined',
      () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 6,
      10_000,
    );
    const sender = lab.fleet.list().find((c) => c.serverId === 's1')!;
    await ui.getByTestId('send-from').selectOption(sender.id);
    await ui.getByTestId('send').click();
    const row = ui.locator('.message.lossy', { hasText: `${sender.id} → #lobby` }).first();
    await row.waitFor({ timeout: 5000 });
    const onS2 = lab.fleet
      .list()
      .filter((c) => c.serverId === 's2')
      .map((c) => c.id);
    for (const id of onS2)
      assert.equal(await row.locator(`[data-missing="${id}"]`).textContent(), `${id}: no adapter: s1 cannot reach s2`);
  });

  test('a lesson, walked through in the panel: open it, see the failure, do the exercise, Verify passes; a terminal check shows too', async () => {
    await ui.getByTestId('lesson-select').selectOption('02-split-brain');
    await ui.getByTestId('lesson-text').getByText('the split brain').first().waitFor();
    assert.match((await ui.getByTestId('lesson-task').textContent()) ?? '', /tests\/learner\/cross-instance\.spec\.ts/);
    await ui.getByTestId('lesson-open').click();
    await ui.getByText('stage start · applied').waitFor({ timeout: 15_000 });
    await ui.getByTestId('lesson-verify').click();
    await ui.locator('[data-testid="check-results"] li[data-ok="false"]').first().waitFor({ timeout: 30_000 });
    assert.equal(await ui.locator('[data-testid="check-results"] li[data-ok="true"]').count(), 0);
    // The exercise: a second instance, and a test that catches the split (the solution, put in place from the panel).
    await ui.getByTestId('stage-select').selectOption('split');
    await ui.getByTestId('stage-apply').click();
    await ui.getByText('stage split · applied').waitFor({ timeout: 15_000 });
    ui.once('dialog', (d) => void d.accept());
    await ui.getByTestId('lesson-solution').click();
    const notice = ui.locator('#notice');
    await until(
      'the solution put in place',
      async () => /^solution of lesson \S+: (?!…)/.test((await notice.textContent()) ?? ''),
      15_000,
    );
    assert.match((await notice.textContent()) ?? '', /: done$/);
    // Checked from "the terminal" (the lab's API, as `npm run check` does): the panel shows it all the same.
    const { results } = await lab.check('02-split-brain');
    assert.ok(
      results.every((r) => r.ok),
      results.map((r) => `${r.id}: ${r.detail}`).join('; '),
    );
    await until(
      'all checks shown passing',
      async () => (await ui.locator('[data-testid="check-results"] li[data-ok="true"]').count()) === results.length,
      10_000,
    );
    await lab.putVersion('02-split-brain', 'start');
  });

  test('the timeline: paused, new events wait; step shows them one by one; scrub rewinds; live catches up', async () => {
    // Opening a lesson empties the fleet: this test brings its own clients.
    await lab.setStage('scaled');
    const [sender] = await lab.fleet.add(2, { rooms: ['lobby'] });
    assert.ok(sender?.socket.connected, 'a connected sender');
    await ui.getByTestId('pause').click();
    await ui.getByText(/^paused · /).waitFor();
    const ack = await lab.fleet.send(sender!.id, 'lobby', 'while paused');
    assert.equal(ack.ok, true);
    const row = ui.locator(`[data-msg-id="${ack.msgId}"]`);
    await until(
      'events arrived',
      async () =>
        /^paused · (\d+)\/(\d+)/.test((await ui.locator('#position').textContent()) ?? '') && !(await row.count()),
    );
    await ui.waitForTimeout(500);
    assert.equal(await row.count(), 0, 'paused: the message is not shown yet');

    let steps = 0;
    while ((await row.count()) === 0 && steps < 200) {
      await ui.getByTestId('step').click();
      steps++;
      await ui.waitForTimeout(20);
    }
    assert.equal(await row.count(), 1, `a step showed it (after ${steps} steps)`);

    await ui.getByTestId('scrub').evaluate((el: HTMLInputElement) => {
      el.value = '0';
      el.dispatchEvent(new Event('input'));
    });
    await until('rewound', async () => (await row.count()) === 0);
    await ui.getByTestId('live').click();
    await row.waitFor();
    await ui.getByText(/^live · /).waitFor();
  });

  test('a page from another origin cannot drive the control API, even knowing the token', async () => {
    const before = lab.status().stage;
    const evil = http.createServer((_, res) => res.end('<html><body>evil</body></html>'));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
      const outcomes = await page.evaluate(
        async ({ api, token }) => {
          const tries: Promise<string>[] = [
            // With the token header: the preflight is refused.
            fetch(`${api}stage`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-lab-token': token },
              body: '{"stage":"scaled"}',
            }).then(
              (r) => `status ${r.status}`,
              () => 'blocked',
            ),
            // A "simple" request the browser sends without asking: refused for its Origin.
            fetch(`${api}stage`, { method: 'POST', mode: 'no-cors', body: '{"stage":"scaled"}' }).then(
              () => 'sent',
              () => 'blocked',
            ),
          ];
          return Promise.all(tries);
        },
        { api: `${lab.control.url}api/`, token: lab.state.token },
      );
      assert.equal(outcomes[0], 'blocked');
      await page.close();
      assert.equal(lab.status().stage, before, 'the stage did not change');
    } finally {
      evil.close();
    }
  });

  test('the lesson panel follows the lab: a lesson opened and a prediction made from the terminal show in the page', async () => {
    await lab.openLesson('02-split-brain'); // as `npm run lab -- lesson 2` does
    await until(
      'the panel on lesson 2',
      async () => (await ui.getByTestId('lesson-select').inputValue()) === '02-split-brain',
      10_000,
    );
    const graded = await lab.predict({ lesson: '02-split-brain', prediction: 'who-hears', choice: 1 });
    const verdict = ui.getByTestId('prediction-who-hears');
    await until('the verdict shown', async () => ((await verdict.textContent()) ?? '') === graded.summary, 10_000);
    assert.match(graded.summary, /^You said: "/);
  });

  test('the page survives a lab restart: it loads the new lab by itself', async () => {
    const settings = lab.settings;
    const oldToken = lab.state.token;
    await lab.down();
    await until('the page sees the lab gone', async () => (await ui.locator('#conn').textContent()) !== 'live', 10_000);
    lab = await Lab.up(settings, 'scaled');
    assert.notEqual(lab.state.token, oldToken);
    await until(
      'the page reloaded with the new token, and live',
      async () =>
        (await ui
          .locator('meta[name="lab-token"]')
          .getAttribute('content')
          .catch(() => null)) === lab.state.token &&
        (await ui
          .locator('#conn')
          .textContent()
          .catch(() => null)) === 'live',
      20_000,
    );
  });
});
