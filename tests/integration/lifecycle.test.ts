// Clean lifecycle: Ctrl-C, `lab down`, and `lab down` after kill -9 leave nothing behind.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { isPortFree } from '../../server/lab/ports.ts';
import { isAlive } from '../../server/lab/processes.ts';
import { readRunState, type RunState } from '../../server/lab/run-state.ts';
import { daemonAlive } from '../../server/lab/services/pm2.ts';
import type { LabStatus } from '../../server/lab/lab.ts';
import { startLab, testSettings, until } from '../helpers/lab.ts';
import { cli, cliUp } from '../helpers/cli.ts';

/** Every process a run state names. */
function pidsOf(state: RunState): number[] {
  return [state.labPid, state.redis?.pid, state.nginx?.pid, ...Object.values(state.instancePids)].filter(
    (p): p is number => typeof p === 'number',
  );
}

describe('lab lifecycle through the CLI', () => {
  test('up, status --json (the contract), stage, then Ctrl-C stops everything', async () => {
    const s = await testSettings();
    const { child } = await cliUp(s, 'scaled');
    const status = JSON.parse((await cli(s, 'status', '--json')).stdout) as LabStatus;
    assert.equal(status.stage, 'scaled');
    assert.equal(status.lesson, '05-redis-adapter');
    assert.equal(status.ui.url, `http://127.0.0.1:${s.ports.ui}/`);
    assert.deepEqual(status.nginx, { port: s.ports.nginx, mode: 'ip-hash' });
    assert.deepEqual(status.redis, { port: s.ports.redis, running: true });
    assert.deepEqual(Object.keys(status.instances[0]!).sort(), ['connections', 'online', 'pid', 'port', 'serverId']);
    assert.deepEqual(
      status.instances.map((i) => [i.serverId, i.port, i.online]),
      [
        ['s1', s.ports.instanceBase, true],
        ['s2', s.ports.instanceBase + 1, true],
        ['s3', s.ports.instanceBase + 2, true],
      ],
    );

    const switched = await cli(s, 'stage', 'ip-hash');
    assert.match(switched.stdout, /s1: restart \(ADAPTER redis → none\)/);
    assert.match((await cli(s, 'stage', 'ip-hash')).stdout, /nothing to change/);

    const state = readRunState(s.runDir)!;
    const pids = pidsOf(state);
    assert.ok(pids.length >= 5 && pids.every(isAlive));

    child.kill('SIGINT'); // what Ctrl-C sends
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
    assert.deepEqual(pids.filter(isAlive), [], 'no process of the lab is left');
    assert.equal(daemonAlive(state.pm2Home), false);
    assert.equal(readRunState(s.runDir), null);
    assert.match((await cli(s, 'status')).stdout, /not running/);
  });

  test('`lab down` stops a running lab', async () => {
    const s = await testSettings();
    const { child } = await cliUp(s, 'split');
    const pids = pidsOf(readRunState(s.runDir)!);
    const exited = new Promise((r) => child.once('exit', r));
    assert.match((await cli(s, 'down')).stdout, /Stopped: lab/);
    await exited;
    assert.deepEqual(pids.filter(isAlive), []);
  });

  test('after kill -9 of the lab, `lab down` ends everything it had started', async () => {
    const s = await testSettings();
    const { child } = await cliUp(s, 'scaled');
    const state = readRunState(s.runDir)!;
    const pids = pidsOf(state);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const orphans = pids.filter(isAlive);
    assert.equal(orphans.length, pids.length - 1, 'everything but the lab itself is still running: orphans');

    const { stdout } = await cli(s, 'down');
    assert.match(stdout, /nginx \(pid \d+\).*PM2 and its instances.*redis \(pid \d+\)/);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(daemonAlive(state.pm2Home), false);
    assert.equal((await cli(s, 'down')).stdout.trim(), 'No lab is running here.');
  });

  test('the next `lab up` also cleans up after a crashed lab', async () => {
    const s = await testSettings();
    const first = await cliUp(s, 'start');
    const pids = pidsOf(readRunState(s.runDir)!);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const second = await cliUp(s, 'start');
    assert.match(second.output(), /cleaned up after a previous lab/);
    assert.deepEqual(pids.filter(isAlive), []);
    const secondPids = pidsOf(readRunState(s.runDir)!);
    second.child.kill('SIGINT');
    assert.equal(await new Promise((r) => second.child.once('exit', r)), 0, second.output());
    assert.deepEqual(secondPids.filter(isAlive), [], second.output());
  });
});

describe('refusals that start nothing', () => {
  test('a taken port is a clear error naming it, and nothing is left running', async () => {
    const s = await testSettings();
    const squatter = net.createServer().listen(s.ports.redis, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      await assert.rejects(startLab('scaled', s), (err: Error) => {
        assert.match(err.message, new RegExp(`port ${s.ports.redis} \\(Redis\\) is already in use`));
        assert.match(String(err), /LAB_REDIS_PORT/);
        return true;
      });
      assert.equal(await isPortFree(s.ports.ui), true, 'control plane closed again');
      assert.equal(readRunState(s.runDir), null);
      await until('pm2 gone', () => !daemonAlive(`${s.runDir}/pm2`));
    } finally {
      squatter.close();
    }
  });

  test('an unknown stage is refused before anything starts, listing the known ones', async () => {
    const s = await testSettings();
    await assert.rejects(startLab('no-such-stage', s), /unknown stage "no-such-stage"[\s\S]*/);
    await assert.rejects(cli(s, 'up', '--stage', 'no-such-stage'), (err: { stderr: string }) => {
      assert.match(err.stderr, /unknown stage "no-such-stage"\n {2}→ known stages: start, split/);
      return true;
    });
    assert.equal(await isPortFree(s.ports.ui), true);
  });

  test('doctor reports what is there, and names a taken port with its fix', async () => {
    const s = await testSettings();
    const ok = await cli(s, 'doctor');
    assert.match(ok.stdout, /ok\s+redis-server/);
    assert.match(ok.stdout, /ok\s+nginx/);
    assert.match(ok.stdout, /ok\s+lessons\s+\d+ lessons, \d+ stages/);
    assert.match(ok.stdout, /Everything the lab needs is here/);

    const squatter = net.createServer().listen(s.ports.nginx, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      await assert.rejects(cli(s, 'doctor'), (err: { stdout: string; code: number }) => {
        assert.equal(err.code, 1);
        assert.match(
          err.stdout,
          new RegExp(
            `✗\\s+port ${s.ports.nginx} \\(nginx\\)\\s+in use by another process\\n\\s+→ stop what listens on ${s.ports.nginx}, or set LAB_NGINX_PORT=<port>`,
          ),
        );
        return true;
      });
    } finally {
      squatter.close();
    }
  });
});
