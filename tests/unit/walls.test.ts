// Naming the wall a crowd hit, from evidence as real runs wrote it (the
// nginx lines below are copied from .lab/nginx-error.log of lesson 13's runs).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nameTheWall, nginxMessage } from '../../server/lab/checks/walls.ts';

const notEnough =
  '2026/12/02 16:20:11 [warn] 12345#12345: 19000 worker_connections are not enough, reusing connections';
const noFiles =
  '2026/12/02 16:18:48 [alert] 14528#14528: *19912 socket() failed (24: Too many open files) while connecting to upstream, client: 127.39.242.1, server: , request: "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1"';
const warned =
  '2026/12/02 16:17:20 [warn] 14526#14526: 25000 worker_connections exceed open file resource limit: 20000';

describe('nameTheWall', () => {
  test('nginx out of worker_connections, quoted without its prefix', () => {
    const wall = nameTheWall({
      nginxDuring: [notEnough],
      nginxBefore: [],
      clientErrors: { 'websocket error: socket hang up': 371 },
    });
    assert.equal(wall?.id, 'nginx-worker-connections');
    assert.match(wall!.line, /"19000 worker_connections are not enough"/);
  });

  test('nginx out of open files wins over its worker_connections warnings, and quotes its start-up warning', () => {
    const wall = nameTheWall({ nginxDuring: [notEnough, noFiles], nginxBefore: [warned], clientErrors: {} });
    assert.equal(wall?.id, 'nginx-open-files');
    assert.match(wall!.line, /"socket\(\) failed \(24: Too many open files\)"/);
    assert.match(wall!.line, /"25000 worker_connections exceed open file resource limit: 20000"/);
  });

  test('nginx that could not raise its own limit says so, not an older warning', () => {
    // As the playtest saw it: worker_rlimit_nofile 30000 above the hard limit of 20000.
    const refused =
      '2026/12/02 16:45:53 [alert] 15012#15012: setrlimit(RLIMIT_NOFILE, 30000) failed (1: Operation not permitted)';
    const wall = nameTheWall({ nginxDuring: [noFiles], nginxBefore: [refused], clientErrors: {} });
    assert.equal(wall?.id, 'nginx-open-files');
    assert.match(wall!.line, /could not raise its limit: "setrlimit\(RLIMIT_NOFILE, 30000\) failed/);
    assert.match(wall!.line, /hard limit/);
  });

  test("an instance's refusal names maxConnections; EMFILE in the clients names their own limit", () => {
    const full = nameTheWall({ nginxDuring: [], nginxBefore: [], clientErrors: { 's2 is full (20 connections)': 9 } });
    assert.equal(full?.id, 'instance-max-connections');
    const emfile = nameTheWall({
      nginxDuring: [],
      nginxBefore: [],
      clientErrors: { 'websocket error: connect EMFILE 127.0.0.1:8080 - Local (127.0.3.1:0)': 40 },
    });
    assert.equal(emfile?.id, 'client-open-files');
  });

  test('only timeouts: no limit named; nothing at all: no wall', () => {
    assert.equal(nameTheWall({ nginxDuring: [], nginxBefore: [], clientErrors: { timeout: 12 } })?.id, 'timeout');
    assert.equal(nameTheWall({ nginxDuring: [], nginxBefore: [], clientErrors: {} }), null);
  });

  test('nginxMessage keeps the message only', () => {
    assert.equal(nginxMessage(noFiles), 'socket() failed (24: Too many open files)');
  });
});
