import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { apiErrorMessage, isConflict, isGone, isNotFound, isTransient, statusCodeOf, wrapError } from '../../../src/kube/errors.js';
import { withRetry } from '../../../src/kube/retry.js';
import { microTime } from '../../../src/kube/time.js';

const status = (code: number, reason: string, message: string): ApiException<string> =>
  new ApiException<string>(code, 'x', JSON.stringify({ kind: 'Status', code, reason, message }), {});

describe('kube errors and retries', () => {
  it('reads the status code of an ApiException, also through a wrapping error', () => {
    const err = status(409, 'Conflict', 'the object has been modified');
    assert.equal(statusCodeOf(err), 409);
    assert.ok(isConflict(wrapError('update failed', err)));
    assert.equal(apiErrorMessage(err), '409 Conflict: the object has been modified');
    assert.match(wrapError('update failed', err).message, /^update failed: 409 Conflict/);
    assert.ok(isNotFound(status(404, 'NotFound', 'x')));
    assert.ok(isGone({ kind: 'Status', code: 410 }));
    assert.equal(statusCodeOf(new Error('plain')), undefined);
  });

  it('calls 429, 5xx and refused connections transient, and not 4xx', () => {
    assert.ok(isTransient(status(429, 'TooManyRequests', 'x')));
    assert.ok(isTransient(status(503, 'ServiceUnavailable', 'x')));
    assert.ok(isTransient(new Error('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) })));
    assert.ok(!isTransient(status(404, 'NotFound', 'x')));
    assert.ok(!isTransient(status(409, 'Conflict', 'x')));
    assert.ok(!isTransient(new Error('logic')));
  });

  it('retries transient failures with backoff and rethrows others at once', async () => {
    let calls = 0;
    const started = performance.now();
    const result = await withRetry(async () => {
      if (++calls < 3) throw status(503, 'ServiceUnavailable', 'x');
      return 'ok';
    }, { backoff: { baseMs: 20, maxMs: 1000 } });
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    assert.ok(performance.now() - started >= 55, 'waited 20 + 40 ms');

    calls = 0;
    await assert.rejects(withRetry(async () => {
      calls++;
      throw status(404, 'NotFound', 'x');
    }), (err) => isNotFound(err));
    assert.equal(calls, 1);

    calls = 0;
    await assert.rejects(withRetry(async () => {
      calls++;
      throw status(500, 'InternalError', 'x');
    }, { attempts: 3, backoff: { baseMs: 1, maxMs: 1 } }), (err) => statusCodeOf(err) === 500);
    assert.equal(calls, 3);
  });

  it('writes MicroTime with six fractional digits', () => {
    assert.equal(microTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
  });
});

describe('kube error messages', () => {
  it('keeps the gist of an ApiException without a Status body', () => {
    assert.equal(apiErrorMessage(new ApiException<string>(502, 'GET /api/v1/pods: Bad Gateway', 'upstream down', {})), '502: GET /api/v1/pods: Bad Gateway');
    assert.equal(apiErrorMessage(new Error('plain')), 'plain');
  });
});
