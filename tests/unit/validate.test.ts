import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientName, parseChat, parseRoom } from '../../server/app/validate.ts';

describe('chat input validation', () => {
  test('accepts a well-formed message, with or without msgId', () => {
    assert.deepEqual(parseChat({ room: 'lobby', text: 'hi' }, 100), { ok: true, value: { room: 'lobby', text: 'hi' } });
    assert.deepEqual(parseChat({ room: 'lobby', text: 'hi', msgId: 'a-1' }, 100), {
      ok: true,
      value: { room: 'lobby', text: 'hi', msgId: 'a-1' },
    });
  });

  test('refuses wrong types with an error that names the field', () => {
    for (const bad of [
      null,
      5,
      'text',
      [1],
      { room: 5, text: 'x' },
      { room: 'r', text: 5 },
      { room: 'r', text: 'x', msgId: 7 },
    ]) {
      const r = parseChat(bad, 100);
      assert.equal(r.ok, false, JSON.stringify(bad));
      assert.match((r as { error: string }).error, /payload|room|text|msgId/);
    }
  });

  test('refuses empty and oversized text', () => {
    assert.equal(parseChat({ room: 'r', text: '' }, 10).ok, false);
    const r = parseChat({ room: 'r', text: 'x'.repeat(11) }, 10);
    assert.deepEqual(r, { ok: false, error: 'text is 11 characters; the limit is 10' });
  });

  test('prototype-pollution shapes contribute nothing', () => {
    const evil = JSON.parse(
      '{"room":"r","text":"x","__proto__":{"polluted":true},"constructor":{"prototype":{"bad":1}}}',
    );
    const r = parseChat(evil, 100);
    assert.deepEqual(r, { ok: true, value: { room: 'r', text: 'x' } });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // A room inherited from a prototype is not an own field: refused.
    assert.equal(parseChat(Object.create({ room: 'r', text: 'x' }), 100).ok, false);
  });

  test('room names: short, printable, no odd characters', () => {
    assert.equal(parseRoom('lobby-2_b').ok, true);
    for (const bad of ['', '-x', 'a'.repeat(33), 'a b', '<script>', 'ümlaut', 42, undefined, {}])
      assert.equal(parseRoom(bad).ok, false, String(bad));
  });

  test('client names come from auth.name only when sensible', () => {
    assert.equal(clientName({ name: 'alice' }), 'alice');
    assert.equal(clientName({ name: '<img src=x>' }), undefined);
    assert.equal(clientName({ name: 5 }), undefined);
    assert.equal(clientName(null), undefined);
    assert.equal(clientName('alice'), undefined);
  });
});
