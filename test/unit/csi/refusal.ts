/** The one assertion the CSI unit tests share: a call was refused with this gRPC code and a message matching the pattern. */
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CsiError } from '../../../src/csi/errors.js';

export function csiRefusal(expected: status, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CsiError, `a CsiError, got ${String(err)}`);
    assert.equal(status[err.code], status[expected], err.message);
    assert.match(err.details, pattern);
    return true;
  };
}
