/**
 * Which device the node service may expose for a volume: derived from the replica's spec (never
 * from status.devicePath, which anyone allowed to patch replica status could point at /dev/sda),
 * and exposed only when LVM reports that LV with Loam's tag and the replica's own UID.
 */
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { LocalVolumeReplica } from '../../../src/api/index.js';
import { lvRefusal, replicaLvOf, servesMounts } from '../../../src/csi/node-device.js';
import type { LvReport } from '../../../src/localstorage/lvm.js';
import { csiRefusal as code } from './refusal.js';

const uid = '3f0c9a52-7d1e-4c59-9b2a-0a1b2c3d4e5f';

function replica(spec: Partial<LocalVolumeReplica['spec']> = {}, devicePath = '/dev/sda'): LocalVolumeReplica {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica',
    metadata: { name: 'pvc-1-abc', uid },
    spec: { volumeName: 'pvc-1', nodeName: 'n1', poolName: 'loam-ssd', capacityBytes: 2 ** 30, ...spec },
    status: { state: 'Ready', devicePath },
  };
}

function lv(tags: string[], extra: Partial<LvReport> = {}): LvReport {
  return { name: 'pvc-1', vgName: 'loam-ssd', sizeBytes: 2 ** 30, tags, active: true, path: '/dev/loam-ssd/pvc-1', ...extra };
}

describe('csi node device: derived from the replica spec, checked against LVM', () => {
  it('derives /dev/<loam VG>/<volume> from the spec and ignores status.devicePath', () => {
    assert.deepEqual(replicaLvOf(replica(), 'pvc-1', 'n1'), { vgName: 'loam-ssd', lvName: 'pvc-1', devicePath: '/dev/loam-ssd/pvc-1' });
    assert.deepEqual(replicaLvOf(replica({ poolName: 'loam-nvme' }, '/dev/loam-ssd/other'), 'pvc-1', 'n1').devicePath, '/dev/loam-nvme/pvc-1');
  });

  it('a replica deleted by hand and held by its node agent (still Ready) is still mounted; one whose LV is being removed is not', () => {
    const deleted = (state: 'Ready' | 'Deleting'): LocalVolumeReplica => ({ ...replica(), metadata: { ...replica().metadata, deletionTimestamp: new Date('2026-12-06T00:00:00Z') }, status: { state } });
    assert.equal(servesMounts(replica()), true);
    assert.equal(servesMounts(deleted('Ready')), true, 'held: the LV stays as long as its volume');
    assert.equal(servesMounts(deleted('Deleting')), false);
  });

  it('refuses a spec that does not name a Loam VG, this volume, or this node (FAILED_PRECONDITION)', () => {
    assert.throws(() => replicaLvOf(replica({ poolName: 'ubuntu-vg' }), 'pvc-1', 'n1'), code(status.FAILED_PRECONDITION, /spec.poolName "ubuntu-vg" is not one of Loam's volume groups \(loam-hdd, loam-ssd, loam-nvme\)/));
    assert.throws(() => replicaLvOf(replica({ poolName: '--config' }), 'pvc-1', 'n1'), code(status.FAILED_PRECONDITION, /spec.poolName "--config"/));
    assert.throws(() => replicaLvOf(replica({ volumeName: 'pvc-2' }), 'pvc-1', 'n1'), code(status.FAILED_PRECONDITION, /spec.volumeName "pvc-2" is not volume pvc-1/));
    assert.throws(() => replicaLvOf(replica({ volumeName: '../sda' }), '../sda', 'n1'), code(status.FAILED_PRECONDITION, /spec.volumeName "..\/sda" is not a name Loam gives an LV/));
    assert.throws(() => replicaLvOf(replica({ nodeName: 'n2' }), 'pvc-1', 'n1'), code(status.FAILED_PRECONDITION, /belongs to node n2, not n1/));
  });

  it('exposes the LV only when it carries loam.io and the replica\'s UID, and is active', () => {
    const r = replica();
    const want = replicaLvOf(r, 'pvc-1', 'n1');
    assert.equal(lvRefusal(lv(['loam.io', `loam.io/replica-uid=${uid}`]), r, want), undefined);
    assert.match(lvRefusal(undefined, r, want)!.details, /LV loam-ssd\/pvc-1 of volume pvc-1 does not exist on this node yet/);
    assert.equal(lvRefusal(undefined, r, want)!.code, status.UNAVAILABLE);
    const inactive = lvRefusal(lv(['loam.io', `loam.io/replica-uid=${uid}`], { active: false }), r, want)!;
    assert.equal(inactive.code, status.UNAVAILABLE);
    assert.match(inactive.details, /is not active/);
    const untagged = lvRefusal(lv([`loam.io/replica-uid=${uid}`]), r, want)!;
    assert.equal(untagged.code, status.FAILED_PRECONDITION);
    assert.match(untagged.details, /has no loam.io tag/);
    const other = lvRefusal(lv(['loam.io', 'loam.io/replica-uid=11111111-2222-3333-4444-555555555555']), r, want)!;
    assert.equal(other.code, status.FAILED_PRECONDITION);
    assert.match(other.details, /LV loam-ssd\/pvc-1 was made for replica 11111111-2222-3333-4444-555555555555, not for pvc-1-abc \(3f0c9a52-7d1e-4c59-9b2a-0a1b2c3d4e5f\); Loam does not expose it/);
    const legacy = lvRefusal(lv(['loam.io']), r, want)!;
    assert.equal(legacy.code, status.FAILED_PRECONDITION);
    assert.match(legacy.details, /was made for replica \(no replica-uid tag\)/);
  });
});
