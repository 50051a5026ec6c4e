import assert from 'node:assert/strict';
import { ItemExponentialRateLimiter, MaxOfRateLimiter, TokenBucketRateLimiter } from '../../../src/kube/ratelimit.js';

describe('kube rate limiters', () => {
  it('backs each key off on its own and forgets it on success', () => {
    const l = new ItemExponentialRateLimiter(5, 1000);
    assert.deepEqual([l.when('a'), l.when('a'), l.when('a')], [5, 10, 20]);
    assert.equal(l.when('b'), 5);
    assert.equal(l.numRequeues('a'), 3);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
    assert.equal(l.when('a'), 5);
  });

  it('token bucket: a burst passes at once, then one token per 1/qps', () => {
    let now = 0;
    const l = new TokenBucketRateLimiter(10, 3, () => now);
    assert.deepEqual([l.when('a'), l.when('b'), l.when('c')], [0, 0, 0]);
    // Reservations queue up: 100 ms, 200 ms, 300 ms from now.
    assert.deepEqual([l.when('d'), l.when('e'), l.when('f')].map(Math.round), [100, 200, 300]);
    now = 1000;
    // One second refills 10 tokens, of which 3 were already promised; the bucket holds at most 3.
    assert.equal(l.when('g'), 0);
  });

  it('max-of takes the longest delay of its limiters', () => {
    const now = 0;
    const l = new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1000), new TokenBucketRateLimiter(1, 1, () => now));
    assert.equal(l.when('a'), 5);
    assert.equal(Math.round(l.when('a')), 1000);
    assert.equal(l.numRequeues('a'), 2);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
  });
});
