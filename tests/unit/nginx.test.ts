import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requireBinary } from '../../server/lab/binaries.ts';
import { fill, renderNginxConfig, writeAndTest, type BalancedMode } from '../../server/lab/services/nginx.ts';
import { LOAD_BALANCERS } from '../../server/lab/stages.ts';

const modes = LOAD_BALANCERS.filter((m): m is BalancedMode => m !== 'none');
const input = (mode: BalancedMode, runDir = '/tmp/x') => ({
  mode,
  listenPort: 18080,
  upstreamPorts: [13001, 13002, 13003],
  proxyReadTimeout: 60,
  websocketHeaders: true,
  workerConnections: 8192,
  runDir,
});

describe('nginx configs', () => {
  test('every load-balancing mode renders a config that nginx -t accepts', async () => {
    const bin = requireBinary('nginx');
    for (const mode of modes) {
      const runDir = mkdtempSync(path.join(os.tmpdir(), `nginx-${mode}-`));
      await writeAndTest(bin, runDir, renderNginxConfig(input(mode, runDir)).text);
    }
  });

  test('each mode uses its balancing directive, over every instance, on loopback', () => {
    const directive: Record<BalancedMode, RegExp | null> = {
      'round-robin': null,
      'ip-hash': /^\s*ip_hash;$/m,
      'hash-consistent': /^\s*hash \$remote_addr consistent;$/m,
      cookie: /^\s*hash \$affinity_key consistent;$/m,
    };
    for (const mode of modes) {
      const conf = renderNginxConfig(input(mode)).text;
      assert.match(conf, /listen 127\.0\.0\.1:18080;/);
      for (const port of [13001, 13002, 13003]) assert.match(conf, new RegExp(`server 127\\.0\\.0\\.1:${port} `));
      const expected = directive[mode];
      if (expected) assert.match(conf, expected, mode);
      else assert.doesNotMatch(conf, /ip_hash;|hash \$/, 'round robin has no hash');
      assert.match(conf, /set_real_ip_from 127\.0\.0\.0\/8;/, 'X-Forwarded-For is trusted from loopback only');
      assert.doesNotMatch(conf, /\{\{/);
    }
  });

  test('WebSocket headers and the read timeout follow the stage', () => {
    const on = renderNginxConfig(input('ip-hash')).text;
    assert.match(on, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(on, /proxy_set_header Connection \$connection_upgrade;/);
    assert.match(on, /proxy_read_timeout 60s;/);
    const off = renderNginxConfig({ ...input('ip-hash'), websocketHeaders: false, proxyReadTimeout: 10 }).text;
    assert.doesNotMatch(off, /proxy_set_header Upgrade/);
    assert.match(off, /proxy_read_timeout 10s;/);
  });

  test('the health endpoint names the config generation, which changes with the config', () => {
    const a = renderNginxConfig(input('ip-hash'));
    const b = renderNginxConfig(input('round-robin'));
    assert.match(a.text, new RegExp(`return 200 "ok ${a.generation}\\\\n";`));
    assert.notEqual(a.generation, b.generation);
    assert.equal(renderNginxConfig(input('ip-hash')).generation, a.generation);
  });

  test('a config nginx rejects is reported and never installed', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'nginx-bad-'));
    await assert.rejects(writeAndTest(requireBinary('nginx'), runDir, 'events {}\nhttp { nonsense_directive on; }\n'), /nginx rejected the rendered config[\s\S]*nonsense_directive/);
  });

  test('template placeholders must all be filled', () => {
    assert.equal(fill('a {{x}} b', { x: '1' }), 'a 1 b');
    assert.throws(() => fill('a {{y}}', {}), /placeholder \{\{y\}\} has no value/);
    assert.equal(fill('  # the lab fills {{x}} here\n{{x}}', { x: 'server a;' }), '  # the lab fills {{x}} here\nserver a;', 'comments are left alone');
  });
});
