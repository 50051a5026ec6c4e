import assert from 'node:assert/strict';
import { apiVersion, finalizer, type LocalVolumeReplica } from '../../../src/api/index.js';
import { replicaUidTag, type LvReport } from '../../../src/localstorage/lvm.js';
import { unownedLvs } from '../../../src/localstorage/orphans-lvs.js';

const MiB = 2 ** 20;
const replica = (volume: string, uid: string, status?: LocalVolumeReplica['status']): LocalVolumeReplica => ({
  apiVersion, kind: 'LocalVolumeReplica',
  metadata: { name: `${volume}-n1`, uid, finalizers: [finalizer] },
  spec: { volumeName: volume, nodeName: 'n1', poolName: 'loam-ssd', capacityBytes: 8 * MiB },
  ...(status ? { status } : {}),
});
const lv = (name: string, tags: string[], vgName = 'loam-ssd'): LvReport => ({ name, vgName, sizeBytes: 8 * MiB, tags, active: true, path: `/dev/${vgName}/${name}` });

describe('unowned LVs: tagged loam.io, but no replica of this node owns them', () => {
  it('reports an LV whose replica UID names no replica (its replica was dropped with its node, or deleted by hand)', () => {
    const kept = lv('pvc-old', ['loam.io', replicaUidTag('uid-gone')]);
    assert.deepEqual(unownedLvs([kept], []), [{ vgName: 'loam-ssd', lvName: 'pvc-old', sizeBytes: 8 * MiB, replicaUid: 'uid-gone' }]);
  });

  it('reports an LV of a volume re-created under its name: the replica of that name has another UID', () => {
    const old = lv('pvc-1', ['loam.io', replicaUidTag('uid-old')]);
    assert.deepEqual(unownedLvs([old], [replica('pvc-1', 'uid-new')]).map((u) => u.replicaUid), ['uid-old']);
  });

  it('does not report the LVs replicas own: by UID, or from before the tag when the replica reported it', () => {
    const mine = lv('pvc-1', ['loam.io', replicaUidTag('uid-1')]);
    const legacy = lv('pvc-2', ['loam.io']);
    const reported = replica('pvc-2', 'uid-2', { state: 'Ready', allocatedBytes: 8 * MiB, devicePath: '/dev/loam-ssd/pvc-2' });
    assert.deepEqual(unownedLvs([mine, legacy], [replica('pvc-1', 'uid-1'), reported]), []);
    assert.deepEqual(unownedLvs([legacy], [replica('pvc-2', 'uid-2')]), [{ vgName: 'loam-ssd', lvName: 'pvc-2', sizeBytes: 8 * MiB }], 'a legacy LV no replica reported is reported');
  });

  it('ignores LVs that are not Loam\'s (no loam.io tag, or outside Loam\'s VGs)', () => {
    assert.deepEqual(unownedLvs([lv('root', []), lv('pvc-x', ['loam.io'], 'ubuntu-vg')], []), []);
  });

  it('sorts the report so an unchanged node writes nothing', () => {
    const a = lv('pvc-a', ['loam.io', replicaUidTag('u1')]);
    const b = lv('pvc-b', ['loam.io', replicaUidTag('u2')], 'loam-hdd');
    assert.deepEqual(unownedLvs([a, b], []).map((u) => `${u.vgName}/${u.lvName}`), ['loam-hdd/pvc-b', 'loam-ssd/pvc-a']);
  });
});
