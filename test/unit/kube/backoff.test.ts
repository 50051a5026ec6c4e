import assert from 'node:assert/strict';
import { Backoff, backoffDelay, sleep } from '../../../src/kube/backoff.js';

describe('kube backoff math', () => {
  it('doubles from the base and stops at the cap (5 ms → 5 min)', () => {
    const opts = { baseMs: 5, maxMs: 5 * 60_000 };
    assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, opts)), [5, 10, 20, 40, 80]);
    // 5·2^16 = 327 680 > 300 000: the 17th retry is the first one capped.
    assert.equal(backoffDelay(15, opts), 163_840);
    assert.equal(backoffDelay(16, opts), 300_000);
    assert.equal(backoffDelay(10_000, opts), 300_000);
  });

  it('uses the given factor and treats a negative attempt as the first', () => {
    assert.equal(backoffDelay(3, { baseMs: 100, maxMs: 1e9, factor: 3 }), 2700);
    assert.equal(backoffDelay(-1, { baseMs: 100, maxMs: 1e9 }), 100);
  });

  it('keeps jitter within its fraction', () => {
    const opts = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    assert.equal(backoffDelay(0, opts, () => 0), 100);
    assert.equal(backoffDelay(0, opts, () => 1), 150);
    assert.equal(backoffDelay(20, opts, () => 1), 1500);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, opts);
      assert.ok(d >= 400 && d <= 600, `delay ${d} out of range`);
    }
  });

  it('counts attempts and starts over after reset', () => {
    const b = new Backoff({ baseMs: 10, maxMs: 50 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 50]);
    assert.equal(b.attempts, 4);
    b.reset();
    assert.equal(b.next(), 10);
  });

  it('sleep ends early with the abort reason', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await assert.rejects(p, /stop/);
    assert.ok(performance.now() - started < 1000);
  });
});
