import assert from 'node:assert/strict';
import { validateObject } from '../../../src/api/index.js';
import { validObject, validObjects } from '../../unit/api/objects.js';
import { useLoamTestClient } from './client.js';

describe('api: every kind on the real kube-apiserver', function () {
  this.timeout(60_000);
  const client = useLoamTestClient('afterEach');

  for (const obj of validObjects('rt')) {
    it(`round-trips a complete ${obj.kind} (spec and status) unchanged`, async () => {
      assert.deepEqual(validateObject(obj.kind, obj), [], 'the fixture is valid by the ajv validator too');
      const stored = await client().createWithStatus(structuredClone(obj));
      assert.equal(stored.apiVersion, 'loam.io/v1alpha1');
      assert.equal(stored.kind, obj.kind);
      assert.deepEqual(stored.spec, obj.spec);
      assert.deepEqual(stored.status, obj.status);
      const read = await client().get(obj.kind, obj.metadata.name!);
      assert.deepEqual(read.spec, obj.spec);
      assert.deepEqual(read.status, obj.status);
    });
  }

  it('fills the defaults a minimal object leaves out (replicaCount 1, owner local-storage, reserved false)', async () => {
    const labels = { 'test.loam.io/suite': 'api' };
    const lv = await client().create({ apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name: 'pvc-rt-min', labels }, spec: { poolClass: 'NVMe', capacityBytes: 2 ** 30 } } as never);
    assert.equal((lv as { spec: { replicaCount: number } }).spec.replicaCount, 1);
    await client().create({ apiVersion: 'loam.io/v1alpha1', kind: 'LocalDiskClaim', metadata: { name: 'rt-min-claim', labels }, spec: { nodeName: 'n1' } });
    assert.equal((await client().get('LocalDiskClaim', 'rt-min-claim')).spec.owner, 'local-storage');
    const disk = validObject('rt-min', 'LocalDisk');
    delete disk.spec.reserved;
    assert.equal((await client().create(disk)).spec.reserved, false);
  });

  it('lets a volume grow and a claim be released then bound to another claim in two steps', async () => {
    const lv = validObject('rt-grow', 'LocalVolume');
    await client().create(lv);
    const grown = await client().patch('LocalVolume', lv.metadata.name!, { spec: { capacityBytes: 20 * 2 ** 30 } });
    assert.equal(grown.spec.capacityBytes, 20 * 2 ** 30);

    const disk = validObject('rt-move', 'LocalDisk');
    await client().create(disk);
    const released = await client().patch('LocalDisk', disk.metadata.name!, { spec: { claimRef: null } });
    assert.equal(released.spec.claimRef, undefined);
    const rebound = await client().patch('LocalDisk', disk.metadata.name!, { spec: { claimRef: { name: 'other-claim', uid: 'u-2' } } });
    assert.deepEqual(rebound.spec.claimRef, { name: 'other-claim', uid: 'u-2' });
  });
});

describe('api: spec and status are written through different doors', function () {
  this.timeout(60_000);
  const client = useLoamTestClient();

  it('ignores status in a create: status starts empty', async () => {
    const created = await client().create(validObject('ss-create', 'LocalVolume'));
    assert.equal(created.status, undefined);
  });

  it('ignores status written through the main resource', async () => {
    const obj = validObject('ss-main', 'LocalDisk');
    await client().createWithStatus(obj);
    const after = await client().patch('LocalDisk', obj.metadata.name!, { status: { state: 'Offline', reason: 'NotPresent' } });
    assert.equal(after.status?.state, 'Claimed');
    assert.equal(after.status?.reason, '');
  });

  it('ignores spec written through /status', async () => {
    const obj = validObject('ss-status', 'LocalVolume');
    await client().createWithStatus(obj);
    const after = await client().patchStatus('LocalVolume', obj.metadata.name!, { spec: { capacityBytes: 99 * 2 ** 30 }, status: { state: 'Degraded' } });
    assert.equal(after.spec.capacityBytes, obj.spec.capacityBytes);
    assert.equal(after.status?.state, 'Degraded');
  });

  it('does not bump metadata.generation for a status write, only for a spec write', async () => {
    const obj = validObject('ss-gen', 'LocalVolumeReplica');
    const created = await client().create(obj);
    const statusWritten = await client().patchStatus('LocalVolumeReplica', obj.metadata.name!, { status: { state: 'Creating' } });
    assert.equal(statusWritten.metadata.generation, created.metadata.generation);
    const specWritten = await client().patch('LocalVolumeReplica', obj.metadata.name!, { spec: { capacityBytes: 11 * 2 ** 30 } });
    assert.equal(specWritten.metadata.generation, (created.metadata.generation ?? 0) + 1);
  });
});
