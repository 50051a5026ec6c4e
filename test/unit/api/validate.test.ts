/* eslint-disable @typescript-eslint/no-explicit-any -- the cases break typed objects on purpose */
import assert from 'node:assert/strict';
import {
  assertValid, validateLocalDisk, validateLocalDiskClaim, validateLocalDiskNode, validateLocalStorageNode,
  validateLocalVolume, validateLocalVolumeReplica, validateObject,
} from '../../../src/api/index.js';
import { validObject, validObjects } from './objects.js';

describe('api validators (ajv, from the kind sources)', () => {
  it('accept a complete valid object of every kind', () => {
    for (const obj of validObjects('unit')) assert.deepEqual(validateObject(obj.kind, obj), [], obj.kind);
    assert.deepEqual(validateLocalDisk(validObject('u', 'LocalDisk')), []);
    assert.deepEqual(validateLocalDiskClaim(validObject('u', 'LocalDiskClaim')), []);
    assert.deepEqual(validateLocalDiskNode(validObject('u', 'LocalDiskNode')), []);
    assert.deepEqual(validateLocalStorageNode(validObject('u', 'LocalStorageNode')), []);
    assert.deepEqual(validateLocalVolume(validObject('u', 'LocalVolume')), []);
    assert.deepEqual(validateLocalVolumeReplica(validObject('u', 'LocalVolumeReplica')), []);
  });

  it('accept a minimal object (only required fields)', () => {
    assert.deepEqual(validateLocalVolume({ apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name: 'pvc-1' }, spec: { poolClass: 'SSD', capacityBytes: 1, replicaCount: 1 } }), []);
    assert.deepEqual(validateLocalDiskClaim({ apiVersion: 'loam.io/v1alpha1', kind: 'LocalDiskClaim', metadata: { name: 'c' }, spec: { nodeName: 'n1' } }), []);
  });

  const cases: { name: string; kind: Parameters<typeof validObject>[1]; mutate: (o: any) => void; expected: string[] }[] = [
    { name: 'a bad media class', kind: 'LocalDisk', mutate: (o) => { o.spec.mediaClass = 'Flash'; }, expected: ['spec.mediaClass: must be one of HDD, SSD, NVMe'] },
    { name: 'a negative capacity', kind: 'LocalDisk', mutate: (o) => { o.spec.capacityBytes = -1; }, expected: ['spec.capacityBytes: must be >= 0'] },
    { name: 'a relative device path', kind: 'LocalDisk', mutate: (o) => { o.spec.devicePath = 'sdb'; },
      expected: ['spec.devicePath: device paths must be absolute paths under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4'] },
    { name: 'an unknown field', kind: 'LocalDisk', mutate: (o) => { o.spec.colour = 'red'; }, expected: ['spec.colour: unknown field (check its spelling; see kubectl explain)'] },
    { name: 'a missing node name', kind: 'LocalDisk', mutate: (o) => { delete o.spec.nodeName; }, expected: ['spec.nodeName: is required'] },
    { name: 'a bad state in status', kind: 'LocalDisk', mutate: (o) => { o.status.state = 'Broken'; }, expected: ['status.state: must be one of Available, Claimed, InUse, Unavailable, Offline'] },
    { name: 'a bad timestamp', kind: 'LocalDisk', mutate: (o) => { o.status.lastSeen = 'yesterday'; }, expected: ['status.lastSeen: must match format "date-time"'] },
    { name: 'the wrong kind', kind: 'LocalDisk', mutate: (o) => { o.kind = 'LocalDiskClaim'; }, expected: ['kind: must be equal to constant'] },
    { name: 'min capacity above max', kind: 'LocalDiskClaim', mutate: (o) => { o.spec.description.minCapacityBytes = 2e12; o.spec.description.maxCapacityBytes = 1e12; },
      expected: ['spec.description: spec.description.minCapacityBytes must not exceed spec.description.maxCapacityBytes: lower the minimum or raise the maximum'] },
    { name: 'a relative claim device path', kind: 'LocalDiskClaim', mutate: (o) => { o.spec.description.devicePaths = ['/dev/sdb', 'sdc']; },
      expected: ['spec.description.devicePaths[1]: device paths must be absolute paths under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4'] },
    { name: 'a duplicate claim device path', kind: 'LocalDiskClaim', mutate: (o) => { o.spec.description.devicePaths = ['/dev/sdb', '/dev/sdb']; },
      expected: ['spec.description.devicePaths: must NOT have duplicate items (items ## 1 and 0 are identical)'] },
    { name: 'replicaCount 3', kind: 'LocalVolume', mutate: (o) => { o.spec.replicaCount = 3; },
      expected: ['spec.replicaCount: spec.replicaCount must be 1 (a single local copy) or 2 (mirrored on two nodes with DRBD)'] },
    { name: 'more replica nodes than replicas', kind: 'LocalVolume', mutate: (o) => { o.spec.replicaCount = 1; },
      expected: ['spec: spec.replicaNodes lists more nodes than spec.replicaCount: list at most replicaCount nodes'] },
    { name: 'a zero-byte volume', kind: 'LocalVolume', mutate: (o) => { o.spec.capacityBytes = 0; }, expected: ['spec.capacityBytes: must be >= 1'] },
    { name: 'an out-of-range DRBD port', kind: 'LocalVolumeReplica', mutate: (o) => { o.spec.drbd.port = 70000; }, expected: ['spec.drbd.port: must be <= 65535'] },
    { name: 'a fractional byte count', kind: 'LocalStorageNode', mutate: (o) => { o.status.pools[0].freeBytes = 1.5; }, expected: ['status.pools[0].freeBytes: must be integer', 'status.pools[0].freeBytes: must match format "int64"'] },
  ];
  for (const c of cases) {
    it(`reject ${c.kind} with ${c.name}, saying what is wrong`, () => {
      const obj = validObject('unit', c.kind);
      c.mutate(obj);
      assert.deepEqual(validateObject(c.kind, obj), c.expected);
    });
  }

  it('list every problem of an object at once', () => {
    const obj: any = validObject('unit', 'LocalDisk');
    obj.spec.mediaClass = 'Flash';
    obj.spec.devicePath = 'sdb';
    assert.equal(validateObject('LocalDisk', obj).length, 2);
  });

  it('assertValid returns the object typed, or throws with every problem', () => {
    const ok = assertValid('LocalVolume', validObject('unit', 'LocalVolume'));
    assert.equal(ok.spec.replicaCount, 2);
    const bad: any = validObject('unit', 'LocalVolume');
    bad.spec.replicaCount = 3;
    assert.throws(() => assertValid('LocalVolume', bad), /^Error: LocalVolume pvc-unit is invalid: spec.replicaCount: spec.replicaCount must be 1/);
    assert.throws(() => validateObject('Widget', {}), /Widget is not a kind of the loam.io\/v1alpha1 API/);
  });
});
