import assert from 'node:assert/strict';
import { lvcreateArgs, replicaUidOf } from '../../../src/localstorage/lvm.js';

describe('lvcreate for a replica', () => {
  it('tags the LV loam.io and loam.io/replica-uid=<uid of the replica it is made for>', () => {
    const args = lvcreateArgs({ vgName: 'loam-ssd', lvName: 'pvc-1', sizeBytes: 64 * 2 ** 20, replicaUid: '2f0c5e1a-0b7d-4c1e-9a55-6f1b2d3c4e5f' });
    assert.deepEqual(args, ['lvcreate', '--yes', '--wipesignatures', 'y', '--zero', 'y', '--addtag', 'loam.io', '--addtag', 'loam.io/replica-uid=2f0c5e1a-0b7d-4c1e-9a55-6f1b2d3c4e5f',
      '--name', 'pvc-1', '--size', `${64 * 2 ** 20}b`, 'loam-ssd']);
    const tags = args.filter((_, i) => args[i - 1] === '--addtag');
    assert.equal(replicaUidOf({ tags }), '2f0c5e1a-0b7d-4c1e-9a55-6f1b2d3c4e5f');
  });
});
