import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findBinary, requireBinary } from '../../server/lab/binaries.ts';
import { LabError } from '../../server/lab/errors.ts';

describe('finding the programs the lab drives', () => {
  test('finds programs on PATH and in sbin folders that users often lack on PATH', () => {
    assert.ok(findBinary('node'));
    assert.equal(findBinary('no-such-program-here'), null);
  });

  test('a missing program is a clear error that names it and says how to install it', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      // nginx may still be found in /usr/sbin: test the message with names that never are.
      assert.throws(
        () => requireBinary('no-such-program-here'),
        (err: LabError) => {
          assert.ok(err instanceof LabError);
          assert.match(err.message, /^no-such-program-here was not found on PATH or in \/usr\/sbin/);
          assert.equal(err.hint, 'install no-such-program-here');
          return true;
        },
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});
