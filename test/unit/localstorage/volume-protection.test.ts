import assert from 'node:assert/strict';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { deletionHeldBy, persistentVolumeHandle } from '../../../src/localstorage/volume-protection.js';

const pv = (phase: string, reclaim = 'Delete', over: Partial<V1PersistentVolume['spec']> = {}): V1PersistentVolume => ({
  metadata: { name: 'pvc-1' },
  spec: { csi: { driver: 'lvm.loam.io', volumeHandle: 'pvc-1' }, persistentVolumeReclaimPolicy: reclaim, claimRef: { namespace: 'app', name: 'data' }, ...over },
  status: { phase },
});

describe('volume protection: a LocalVolume whose PersistentVolume still needs it is not finalized', () => {
  it('holds while a PV is Bound, Available or Pending, naming the PV, its phase and its claim, and what to do', () => {
    for (const phase of ['Bound', 'Available', 'Pending']) {
      const why = deletionHeldBy([pv(phase)]);
      assert.ok(why, phase);
      assert.match(why, new RegExp(`^PersistentVolume pvc-1 \\(${phase}, claim app/data\\) still uses this volume: Loam keeps the volume and its data until Kubernetes releases it`));
      assert.match(why, /delete the PersistentVolumeClaim/);
    }
  });

  it('lets go once Kubernetes deletes the volume: a Released (or Failed) PV with reclaim policy Delete', () => {
    assert.equal(deletionHeldBy([pv('Released')]), undefined);
    assert.equal(deletionHeldBy([pv('Failed')]), undefined);
    assert.equal(deletionHeldBy([]), undefined, 'no PV at all');
  });

  it('holds a Released PV with reclaim policy Retain: the administrator asked to keep the data (deleting the PV lets go)', () => {
    assert.match(deletionHeldBy([pv('Released', 'Retain')])!, /reclaim policy Retain: delete the PersistentVolume/);
  });

  it('indexes PVs of this driver by volume handle only', () => {
    assert.equal(persistentVolumeHandle(pv('Bound')), 'pvc-1');
    assert.equal(persistentVolumeHandle(pv('Bound', 'Delete', { csi: { driver: 'other.csi.io', volumeHandle: 'pvc-1' } })), undefined);
    assert.equal(persistentVolumeHandle({ metadata: { name: 'nfs' }, spec: {} }), undefined);
  });
});
