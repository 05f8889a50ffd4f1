import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requireBinary } from '../../server/lab/binaries.ts';
import { fill, type NginxConfigInput, renderNginxConfig, writeAndTest } from '../../server/lab/services/nginx.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { LOAD_BALANCERS } from '../../server/lab/stages.ts';

const modes = LOAD_BALANCERS.filter((m) => m !== 'none');
const file = (rel: string) => ({
  path: path.join(repoRoot, rel),
  content: readFileSync(path.join(repoRoot, rel), 'utf8'),
});
const input = (mode: string, runDir = '/tmp/x'): NginxConfigInput => ({
  listenPort: 18080,
  upstreamPorts: [13001, 13002, 13003],
  runDir,
  includes: {
    workers: file('nginx/workers.conf'),
    upstream: file(`nginx/upstream/${mode}.conf`),
    proxy: file('nginx/proxy.conf'),
  },
});

describe('nginx configs', () => {
  test('every load-balancing mode renders a config that nginx -t accepts', async () => {
    const bin = requireBinary('nginx');
    for (const mode of modes) {
      const runDir = mkdtempSync(path.join(os.tmpdir(), `nginx-${mode}-`));
      await writeAndTest(bin, runDir, renderNginxConfig(input(mode, runDir)));
      assert.match(readFileSync(path.join(runDir, 'servers.conf'), 'utf8'), /server 127\.0\.0\.1:13003 /);
    }
  });

  test('the config includes the learner-editable files, listens on loopback, trusts X-Forwarded-For only from it', () => {
    for (const mode of modes) {
      const { text, servers } = renderNginxConfig(input(mode));
      assert.match(text, /listen 127\.0\.0\.1:18080;/);
      assert.ok(text.includes(`include ${path.join(repoRoot, 'nginx/upstream', `${mode}.conf`)};`), mode);
      assert.ok(text.includes(`include ${path.join(repoRoot, 'nginx/proxy.conf')};`));
      assert.ok(text.includes(`include ${path.join(repoRoot, 'nginx/workers.conf')};`));
      for (const port of [13001, 13002, 13003]) assert.match(servers, new RegExp(`server 127\\.0\\.0\\.1:${port} `));
      // Both workers share one balancer state: one rotation, one view of failed servers.
      assert.match(servers, /^zone chat_instances \d+k;$/m);
      assert.match(text, /set_real_ip_from 127\.0\.0\.0\/8;/);
      assert.doesNotMatch(text, /\{\{/);
    }
  });

  test("each mode's upstream file uses its balancing directive and includes the lab's server list", () => {
    const directive: Record<string, RegExp | null> = {
      'round-robin': null,
      'ip-hash': /^\s*ip_hash;$/m,
      'hash-consistent': /^\s*hash \$remote_addr consistent;$/m,
      cookie: /^\s*hash \$affinity_key consistent;$/m,
    };
    for (const mode of modes) {
      const upstream = file(`nginx/upstream/${mode}.conf`).content.replace(/#.*$/gm, '');
      assert.match(upstream, /include servers\.conf;/);
      const expected = directive[mode];
      if (expected) assert.match(upstream, expected, mode);
      else assert.doesNotMatch(upstream, /ip_hash;|hash \$/, 'round robin has no hash');
    }
  });

  test('the proxy forwards WebSocket upgrades and outlives a heartbeat round', () => {
    const proxy = file('nginx/proxy.conf').content;
    assert.match(proxy, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(proxy, /proxy_set_header Connection \$connection_upgrade;/);
    const timeout = Number(/proxy_read_timeout (\d+)s;/.exec(proxy)?.[1]);
    assert.ok(timeout > 25 + 20, `proxy_read_timeout ${timeout} s must exceed pingInterval + pingTimeout (45 s)`);
  });

  test('the generation changes when any included file changes', () => {
    const a = renderNginxConfig(input('ip-hash'));
    assert.match(a.text, new RegExp(`return 200 "ok ${a.generation}\\\\n";`));
    assert.equal(renderNginxConfig(input('ip-hash')).generation, a.generation);
    assert.notEqual(renderNginxConfig(input('round-robin')).generation, a.generation);
    const edited = input('ip-hash');
    edited.includes.proxy = { ...edited.includes.proxy, content: `${edited.includes.proxy.content}\n# edited` };
    assert.notEqual(renderNginxConfig(edited).generation, a.generation);
  });

  test("a config nginx rejects is reported, naming the learner's file and line, and never installed", async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'nginx-bad-'));
    const bad = path.join(runDir, 'proxy.conf');
    writeFileSync(bad, 'proxy_http_version 1.1;\nnonsense_directive on;\n');
    const broken = input('ip-hash', runDir);
    broken.includes.proxy = { path: bad, content: readFileSync(bad, 'utf8') };
    await assert.rejects(
      writeAndTest(requireBinary('nginx'), runDir, renderNginxConfig(broken)),
      (err: Error & { hint?: string }) => {
        assert.match(err.message, /nginx rejected the config[\s\S]*unknown directive "nonsense_directive"/);
        assert.match(err.message, /proxy\.conf:2/);
        return true;
      },
    );
  });

  test('template placeholders must all be filled', () => {
    assert.equal(fill('a {{x}} b', { x: '1' }), 'a 1 b');
    assert.throws(() => fill('a {{y}}', {}), /placeholder \{\{y\}\} has no value/);
    assert.equal(
      fill('  # the lab fills {{x}} here\n{{x}}', { x: 'server a;' }),
      '  # the lab fills {{x}} here\nserver a;',
      'comments are left alone',
    );
  });
});
