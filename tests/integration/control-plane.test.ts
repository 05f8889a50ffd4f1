// The control plane spawns and kills processes: strangers must not drive it.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { startLab } from '../helpers/lab.ts';

/** A raw request, so Host and Origin can be anything (fetch would not let us set Host). */
function request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        if (res.headers['content-type']?.startsWith('text/event-stream')) {
          resolve({ status: res.statusCode!, body: '' });
          res.destroy();
        }
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('control plane security', () => {
  let lab: Lab;
  let port: number;
  let host: string;
  before(async () => {
    lab = await startLab('start');
    port = lab.settings.ports.ui;
    host = `127.0.0.1:${port}`;
  });
  after(() => lab?.down());

  const stageBody = JSON.stringify({ stage: 'split' });

  test('listens on loopback only', () => {
    assert.equal(lab.control.url, `http://127.0.0.1:${port}/`);
  });

  test('a foreign Host (DNS rebinding) gets 403, even for reads', async () => {
    for (const path of ['/api/status', '/', '/api/events?token=' + lab.state.token]) {
      const res = await request(port, { path, headers: { host: `evil.example:${port}` } });
      assert.equal(res.status, 403, path);
    }
  });

  test('a foreign Origin (cross-site request or stream hijacking) gets 403 and changes nothing', async () => {
    const res = await request(port, {
      method: 'POST',
      path: '/api/stage',
      headers: {
        host,
        origin: 'http://evil.example',
        'x-lab-token': lab.state.token,
        'content-type': 'application/json',
      },
      body: stageBody,
    });
    assert.equal(res.status, 403);
    const stream = await request(port, {
      path: `/api/events?token=${lab.state.token}`,
      headers: { host, origin: 'http://evil.example' },
    });
    assert.equal(stream.status, 403);
    assert.equal(lab.status().stage, 'start');
  });

  test('a missing or wrong token gets 403 and changes nothing', async () => {
    for (const token of [undefined, 'nope', lab.state.token.slice(1)]) {
      const headers: Record<string, string> = { host, 'content-type': 'application/json' };
      if (token) headers['x-lab-token'] = token;
      const res = await request(port, { method: 'POST', path: '/api/stage', headers, body: stageBody });
      assert.equal(res.status, 403, String(token));
    }
    assert.equal((await request(port, { path: '/api/events', headers: { host } })).status, 403);
    const telemetry = await request(port, {
      method: 'POST',
      path: '/telemetry',
      headers: { host },
      body: '{"events":[{"t":"draining","serverId":"s1","at":0}]}',
    });
    assert.equal(telemetry.status, 403);
    assert.equal(lab.status().stage, 'start');
    assert.equal(lab.hub.snapshot().instances[0]!.draining, false);
  });

  test('bad requests get clear errors', async () => {
    const headers = { host, 'x-lab-token': lab.state.token, 'content-type': 'application/json' };
    const malformed = await request(port, { method: 'POST', path: '/api/stage', headers, body: '{not json' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /JSON object/);
    const unknown = await request(port, {
      method: 'POST',
      path: '/api/stage',
      headers,
      body: JSON.stringify({ stage: 'warp-speed' }),
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /unknown stage \\"warp-speed\\"/);
    assert.equal((await request(port, { method: 'POST', path: '/api/nothing', headers })).status, 404);
  });

  test("with the token, from the lab's own origin, the stage changes", async () => {
    const res = await request(port, {
      method: 'POST',
      path: '/api/stage',
      headers: {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        'x-lab-token': lab.state.token,
        'content-type': 'application/json',
      },
      body: stageBody,
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(lab.status().stage, 'split');
  });
});
