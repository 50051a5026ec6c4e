/** The coalescing of LocalStorageNode refreshes (src/localstorage/storage-node-refresh.ts). */
import assert from 'node:assert/strict';
import { CoalescingRunner } from '../../../src/localstorage/storage-node-refresh.js';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('LocalStorageNode refresh coalescing', () => {
  it('a call during a run waits for a run that starts after it; calls meanwhile share that run', async () => {
    const gates = [gate(), gate()];
    const started: number[] = [];
    let runs = 0;
    const runner = new CoalescingRunner(async () => {
      const n = runs++;
      started.push(n);
      await gates[n]!.wait;
    });
    const first = runner.run();
    const done: string[] = [];
    const second = runner.run().then(() => done.push('second'));
    const third = runner.run().then(() => done.push('third'));
    assert.deepEqual(started, [0]);
    gates[0]!.open();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1], 'the waiting calls got a second run, after the first ended');
    assert.deepEqual(done, [], 'they settle only when that run ends');
    gates[1]!.open();
    await Promise.all([second, third]);
    assert.equal(runs, 2);
    await runner.idle();
  });

  it('a failed run rejects its callers and does not stop the next one', async () => {
    let fail = true;
    const runner = new CoalescingRunner(async () => {
      if (fail) throw new Error('write failed');
    });
    await assert.rejects(runner.run(), /write failed/);
    fail = false;
    await runner.run();
  });
});
