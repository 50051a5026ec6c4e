import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { defaultVolumeBytes, incompatibility, planCreateVolume, volumeIdOf } from '../../../src/csi/controller-requests.js';
import type { CreateVolumeRequest__Output } from '../../../src/csi/generated/csi/v1/CreateVolumeRequest.js';
import { csiRefusal as refusedWith } from './refusal.js';

const Mi = 2 ** 20;
const Gi = 2 ** 30;

function request(overrides: Partial<CreateVolumeRequest__Output> = {}): CreateVolumeRequest__Output {
  return {
    name: 'pvc-0b6c7e2a-1111-4c3d-9a55-0a1b2c3d4e5f',
    capacity_range: { required_bytes: String(Gi), limit_bytes: '0' },
    volume_capabilities: [{ mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    parameters: { poolClass: 'SSD', 'csi.storage.k8s.io/pvc/namespace': 'db', 'csi.storage.k8s.io/pvc/name': 'data' },
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: {
      requisite: [{ segments: { 'topology.loam.io/node': 'n1' } }, { segments: { 'topology.loam.io/node': 'n2' } }],
      preferred: [{ segments: { 'topology.loam.io/node': 'n2' } }],
    },
    mutable_parameters: {},
    ...overrides,
  };
}

describe('csi CreateVolume request', () => {
  it('plans the LocalVolume: id = name, spec from parameters, range and topology, fstype as annotation', () => {
    const plan = planCreateVolume(request());
    assert.equal(plan.id, 'pvc-0b6c7e2a-1111-4c3d-9a55-0a1b2c3d4e5f');
    assert.deepEqual(plan.volume.spec, {
      poolClass: 'SSD', capacityBytes: Gi, replicaCount: 1, pvcRef: { namespace: 'db', name: 'data' },
      accessibility: { requiredNodes: ['n1', 'n2'], preferredNodes: ['n2'] },
    });
    assert.equal(plan.volume.metadata.annotations?.['loam.io/fstype'], 'ext4');
    assert.equal(plan.volume.metadata.labels?.['loam.io/pool-class'], 'SSD');
  });

  it('names every required field that is missing, in turn', () => {
    assert.throws(() => planCreateVolume(request({ name: '' })), refusedWith(status.INVALID_ARGUMENT, /^CreateVolume: name is required$/));
    assert.throws(() => planCreateVolume(request({ volume_capabilities: [] })), refusedWith(status.INVALID_ARGUMENT, /^CreateVolume: volume_capabilities is required$/));
    assert.throws(() => planCreateVolume(request({ parameters: {} })), refusedWith(status.INVALID_ARGUMENT, /parameters.poolClass is required/));
  });

  it('refuses clones and snapshots, bad parameters and multi-node access', () => {
    assert.throws(() => planCreateVolume(request({ volume_content_source: { snapshot: { snapshot_id: 's' }, type: 'snapshot' } })), refusedWith(status.INVALID_ARGUMENT, /volume_content_source is not supported/));
    assert.throws(() => planCreateVolume(request({ parameters: { poolClass: 'SSD', replicaCount: '3' } })), refusedWith(status.INVALID_ARGUMENT, /replicaCount "3"/));
    assert.throws(() => planCreateVolume(request({ volume_capabilities: [{ block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] })), refusedWith(status.INVALID_ARGUMENT, /volume_capabilities\[0\]: access mode MULTI_NODE_MULTI_WRITER/));
  });

  it('refuses replicaCount "2" until replication (DRBD) exists: two independent LVs would be two different volumes', () => {
    assert.throws(() => planCreateVolume(request({ parameters: { poolClass: 'SSD', replicaCount: '2' } })),
      refusedWith(status.INVALID_ARGUMENT, /^CreateVolume: parameters.replicaCount "2": dual-replica volumes need replication \(DRBD\), which is not available yet; use replicaCount "1"$/));
  });

  it('sizes: default 1 GiB, rounded up to 4 MiB extents, within the limit', () => {
    assert.equal(planCreateVolume(request({ capacity_range: null })).volume.spec.capacityBytes, defaultVolumeBytes);
    assert.equal(planCreateVolume(request({ capacity_range: { required_bytes: String(Mi), limit_bytes: '0' } })).volume.spec.capacityBytes, 4 * Mi);
    assert.equal(planCreateVolume(request({ capacity_range: { required_bytes: '0', limit_bytes: String(100 * Mi) } })).volume.spec.capacityBytes, 100 * Mi);
    assert.equal(planCreateVolume(request({ capacity_range: { required_bytes: String(5 * Mi), limit_bytes: String(9 * Mi) } })).volume.spec.capacityBytes, 8 * Mi);
    assert.throws(() => planCreateVolume(request({ capacity_range: { required_bytes: String(5 * Mi), limit_bytes: String(6 * Mi) } })), refusedWith(status.OUT_OF_RANGE, /4 MiB extents/));
    assert.throws(() => planCreateVolume(request({ capacity_range: { required_bytes: String(Mi), limit_bytes: String(2 * Mi) } })), refusedWith(status.OUT_OF_RANGE, /4 MiB extents/));
  });

  it('derives a stable DNS-1123 id from a name that cannot be one', () => {
    assert.equal(volumeIdOf('pvc-1'), 'pvc-1');
    const id = volumeIdOf('My Volume/1');
    assert.match(id, /^vol-[0-9a-f]{40}$/);
    assert.equal(volumeIdOf('My Volume/1'), id);
    assert.notEqual(volumeIdOf('My Volume/2'), id);
    assert.match(volumeIdOf('x'.repeat(64)), /^vol-/);
  });

  it('tells a retry (compatible) from another volume of the same name (ALREADY_EXISTS)', () => {
    const plan = planCreateVolume(request());
    const existing = structuredClone(plan.volume);
    assert.equal(incompatibility(existing, plan), undefined);
    assert.equal(incompatibility(existing, planCreateVolume(request({ capacity_range: { required_bytes: String(Gi / 2), limit_bytes: '0' } }))), undefined, 'a smaller request fits');
    assert.match(incompatibility(existing, planCreateVolume(request({ capacity_range: { required_bytes: String(2 * Gi), limit_bytes: '0' } })))!, /exists with 1073741824 bytes, outside the requested range/);
    assert.match(incompatibility(existing, planCreateVolume(request({ parameters: { poolClass: 'HDD' } })))!, /poolClass SSD, not HDD/);
    assert.match(incompatibility({ ...existing, spec: { ...existing.spec, replicaCount: 2 } }, plan)!, /replicaCount 2, not 1/);
  });
});
