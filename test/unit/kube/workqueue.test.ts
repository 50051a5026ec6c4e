import assert from 'node:assert/strict';
import { Controller } from '../../../src/kube/controller.js';
import { sleep } from '../../../src/kube/backoff.js';
import { ItemExponentialRateLimiter, TokenBucketRateLimiter } from '../../../src/kube/ratelimit.js';
import { WorkQueue } from '../../../src/kube/workqueue.js';

/** A queue whose failures back off from `baseMs` with no global limit, so delays are measurable. */
const itemQueue = (baseMs = 5, maxMs = 300_000): WorkQueue => new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter(baseMs, maxMs) });

describe('kube work queue', () => {
  it('merges adds of a queued key and hands keys out in order', async () => {
    const q = itemQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.length, 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
  });

  it('re-queues a key added while it is processed only after done()', async () => {
    const q = itemQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    assert.equal(q.length, 0, 'a key in flight is not handed out again');
    q.done(key!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('never runs one key on two workers at once', async () => {
    const active = new Set<string>();
    let overlaps = 0;
    let runs = 0;
    const c = new Controller({
      name: 'overlap',
      workers: 4,
      queue: itemQueue(),
      reconcile: async (key) => {
        if (active.has(key)) overlaps++;
        active.add(key);
        runs++;
        await sleep(Math.random() * 5);
        active.delete(key);
      },
    });
    c.start();
    for (let i = 0; i < 200; i++) {
      c.enqueue(`k${i % 3}`);
      if (i % 10 === 0) await sleep(1);
    }
    await sleep(50);
    await c.stop();
    assert.equal(overlaps, 0);
    assert.ok(runs >= 3, `every key ran (${runs} runs)`);
  });

  it('runs a burst of 1000 adds of one key once or twice, not 1000 times', async () => {
    let runs = 0;
    const c = new Controller({ name: 'burst', workers: 4, queue: itemQueue(), reconcile: async () => { runs++; await sleep(20); } });
    c.start();
    c.enqueue('k');
    await sleep(5); // the first run is in flight while the burst arrives
    for (let i = 0; i < 1000; i++) c.enqueue('k');
    await sleep(100);
    await c.stop();
    assert.ok(runs >= 1 && runs <= 2, `ran ${runs} times`);
  });

  it('backs a failing key off exponentially and forgets it after success', async () => {
    const times: number[] = [];
    const q = itemQueue(20);
    const c = new Controller({
      name: 'backoff',
      queue: q,
      reconcile: async () => {
        times.push(performance.now());
        if (times.length <= 5) throw new Error('not yet');
      },
    });
    c.start();
    c.enqueue('k');
    while (times.length < 6) await sleep(10);
    await sleep(10);
    await c.stop();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Expected 20, 40, 80, 160, 320 ms: each at least its delay (so it doubles), and not far beyond it.
    [20, 40, 80, 160, 320].forEach((want, i) => {
      assert.ok(gaps[i]! >= want - 2 && gaps[i]! < want + 150, `gap ${i} was ${Math.round(gaps[i]!)} ms, want ${want} (gaps ${gaps.map(Math.round).join(', ')})`);
    });
    assert.equal(q.numRequeues('k'), 0, 'success forgets the failures');
  });

  it('holds all keys to the global token bucket', async () => {
    const q = new WorkQueue({ rateLimiter: new TokenBucketRateLimiter(100, 5) });
    const started = performance.now();
    for (let i = 0; i < 25; i++) q.addRateLimited(`k${i}`);
    assert.equal(q.length, 5, 'the burst is queued at once');
    const done: number[] = [];
    for (let i = 0; i < 25; i++) {
      const k = await q.get();
      done.push(performance.now() - started);
      q.done(k!);
    }
    // 20 keys beyond the burst at 100/s take ≥ 200 ms.
    assert.ok(done[24]! >= 190, `last key after ${done[24]} ms`);
    assert.ok(done[4]! < 100, `burst keys at once (${done[4]} ms)`);
  });

  it('addAfter delays a key, and the earliest of two delays wins', async () => {
    const q = itemQueue();
    const started = performance.now();
    q.addAfter('a', 300);
    q.addAfter('a', 50);
    q.addAfter('a', 200);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), 'a');
    const waited = performance.now() - started;
    assert.ok(waited >= 45 && waited < 190, `waited ${waited} ms`);
    q.done('a');
    await sleep(300);
    assert.equal(q.length, 0, 'the later delays were merged into the first');
  });

  it('shutdown drains queued and in-flight work and refuses new keys', async () => {
    const finished: string[] = [];
    const c = new Controller({ name: 'drain', workers: 2, queue: itemQueue(), reconcile: async (key) => { await sleep(30); finished.push(key); } });
    for (const k of ['a', 'b', 'c', 'd', 'e']) c.enqueue(k);
    c.start();
    await sleep(5);
    await c.stop();
    assert.deepEqual([...finished].sort(), ['a', 'b', 'c', 'd', 'e']);
    c.enqueue('f');
    assert.equal(c.queue.length, 0);
    assert.equal(await c.queue.get(), undefined);
  });

  it('stop with abort fires the reconcile signal and drops queued keys', async () => {
    const seen: string[] = [];
    let abortedInFlight = false;
    const c = new Controller({
      name: 'abort',
      queue: itemQueue(),
      reconcile: async (key, signal) => {
        seen.push(key);
        await sleep(5_000, signal).catch(() => { abortedInFlight = signal.aborted; });
      },
    });
    for (const k of ['a', 'b', 'c']) c.enqueue(k);
    c.start();
    await sleep(10);
    const started = performance.now();
    await c.stop({ abort: true });
    assert.ok(performance.now() - started < 1000);
    assert.ok(abortedInFlight);
    assert.deepEqual(seen, ['a']);
  });

  it('a waiting get() returns undefined on shutdown', async () => {
    const q = itemQueue();
    const pending = q.get();
    q.shutDown();
    assert.equal(await pending, undefined);
    await q.shutDownWithDrain();
  });
});

describe('kube work queue edge cases', () => {
  it('ignores a stray done() for a key that was not handed out', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter() });
    q.add('a');
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.length, 0);
  });
});
