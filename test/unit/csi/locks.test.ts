import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CsiError } from '../../../src/csi/errors.js';
import { VolumeLocks } from '../../../src/csi/locks.js';

describe('csi VolumeLocks', () => {
  it('answers a second call for a volume in progress with ABORTED, and frees the lock afterwards', async () => {
    const locks = new VolumeLocks();
    let finish!: () => void;
    const first = locks.run('pvc-1', () => new Promise<string>((resolve) => { finish = () => resolve('first'); }));
    await assert.rejects(locks.run('pvc-1', async () => 'second'), (err: unknown) => {
      assert.ok(err instanceof CsiError);
      assert.equal(err.code, status.ABORTED);
      assert.equal(err.details, 'an operation on volume pvc-1 is already in progress');
      return true;
    });
    assert.equal(await locks.run('pvc-2', async () => 'other volume'), 'other volume', 'another volume is not blocked');
    finish();
    assert.equal(await first, 'first');
    assert.equal(await locks.run('pvc-1', async () => 'again'), 'again');
  });

  it('releases the lock when the call fails', async () => {
    const locks = new VolumeLocks();
    await assert.rejects(locks.run('pvc-1', async () => { throw new Error('boom'); }), /boom/);
    assert.equal(locks.isHeld('volume/pvc-1'), false);
  });

  it('locks the CreateVolume name too, so two names mapping to one id or one name retried both wait', async () => {
    const locks = new VolumeLocks();
    let finish!: () => void;
    const first = locks.run('vol-a', () => new Promise<void>((resolve) => { finish = resolve; }), ['My Volume']);
    await assert.rejects(locks.run('vol-b', async () => undefined, ['My Volume']), /already in progress/);
    finish();
    await first;
  });

  it('takes all keys or none', () => {
    const locks = new VolumeLocks();
    const release = locks.tryAcquire(['a'])!;
    assert.equal(locks.tryAcquire(['b', 'a']), undefined);
    assert.equal(locks.isHeld('b'), false, 'b was not taken by the failed attempt');
    release();
    release();
    assert.ok(locks.tryAcquire(['a', 'b']));
  });
});
