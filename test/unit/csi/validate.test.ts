import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { csiRefusal as code } from './refusal.js';
import { capabilityProblem, capacityRangeOf, nodesOfTopologies, requireField, requireSupportedCapabilities, volumeParametersOf } from '../../../src/csi/validate.js';

const mount = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const block = { block: {}, access_mode: { mode: 'SINGLE_NODE_READER_ONLY' } };

describe('csi validate', () => {
  it('names a missing or empty required field', () => {
    for (const empty of [undefined, null, '', []]) {
      assert.throws(() => requireField('CreateVolume', 'name', empty), code(status.INVALID_ARGUMENT, /^CreateVolume: name is required$/));
    }
    assert.doesNotThrow(() => requireField('CreateVolume', 'name', 'pvc-1'));
  });

  it('accepts single-node mount and block capabilities, ext4 and xfs', () => {
    for (const mode of ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']) {
      assert.equal(capabilityProblem({ ...mount, access_mode: { mode } }), undefined, mode);
      assert.equal(capabilityProblem({ ...block, access_mode: { mode } }), undefined, mode);
    }
    assert.equal(capabilityProblem({ mount: { fs_type: 'xfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }), undefined);
    assert.equal(capabilityProblem({ mount: { fs_type: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }), undefined, 'no fs_type: the default');
  });

  it('refuses multi-node modes, a missing access type or mode, and unknown filesystems, saying why', () => {
    assert.match(capabilityProblem({ ...mount, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } })!, /MULTI_NODE_MULTI_WRITER is not supported: a Loam volume is used on one node/);
    assert.match(capabilityProblem({ access_mode: { mode: 'SINGLE_NODE_WRITER' } })!, /access type \(mount or block\)/);
    assert.match(capabilityProblem({ mount: {}, access_mode: null })!, /access mode/);
    assert.match(capabilityProblem({ mount: {}, access_mode: { mode: 'UNKNOWN' } })!, /access mode/);
    assert.match(capabilityProblem({ mount: { fs_type: 'btrfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } })!, /"btrfs" is not supported; use one of ext4, xfs/);
    assert.throws(() => requireSupportedCapabilities('CreateVolume', 'volume_capabilities', [mount, { ...mount, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } }]),
      code(status.INVALID_ARGUMENT, /volume_capabilities\[1\]: access mode MULTI_NODE_READER_ONLY/));
    assert.throws(() => requireSupportedCapabilities('CreateVolume', 'volume_capabilities', []), code(status.INVALID_ARGUMENT, /volume_capabilities is required/));
  });

  it('reads the StorageClass parameters with their defaults', () => {
    assert.deepEqual(volumeParametersOf('CreateVolume', { poolClass: 'SSD' }), { poolClass: 'SSD', replicaCount: 1, fsType: 'ext4' });
    assert.deepEqual(volumeParametersOf('CreateVolume', {
      poolClass: 'nvme', replicaCount: '2', 'csi.storage.k8s.io/fstype': 'xfs',
      'csi.storage.k8s.io/pvc/namespace': 'db', 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pv/name': 'pvc-1',
    }), { poolClass: 'NVMe', replicaCount: 2, fsType: 'xfs', pvcRef: { namespace: 'db', name: 'data' } });
  });

  it('refuses a missing or unknown poolClass, replicaCount "3", an unknown fstype and unknown keys', () => {
    assert.throws(() => volumeParametersOf('CreateVolume', {}), code(status.INVALID_ARGUMENT, /parameters.poolClass is required \(one of HDD, SSD, NVMe\)/));
    assert.throws(() => volumeParametersOf('CreateVolume', { poolClass: 'Tape' }), code(status.INVALID_ARGUMENT, /poolClass "Tape" is not a pool class; use one of HDD, SSD, NVMe/));
    assert.throws(() => volumeParametersOf('CreateVolume', { poolClass: 'SSD', replicaCount: '3' }), code(status.INVALID_ARGUMENT, /replicaCount "3" is not supported; use "1" or "2"/));
    assert.throws(() => volumeParametersOf('CreateVolume', { poolClass: 'SSD', 'csi.storage.k8s.io/fstype': 'zfs' }), code(status.INVALID_ARGUMENT, /fstype "zfs" is not supported/));
    assert.throws(() => volumeParametersOf('CreateVolume', { poolclass: 'SSD' }), code(status.INVALID_ARGUMENT, /unknown parameter "poolclass"/));
  });

  it('checks capacity ranges', () => {
    assert.deepEqual(capacityRangeOf('CreateVolume', null), { requiredBytes: 0, limitBytes: 0 });
    assert.deepEqual(capacityRangeOf('CreateVolume', { required_bytes: '1048576', limit_bytes: '0' }), { requiredBytes: 1048576, limitBytes: 0 });
    assert.throws(() => capacityRangeOf('CreateVolume', { required_bytes: '-1' }), code(status.INVALID_ARGUMENT, /required_bytes must be a non-negative/));
    assert.throws(() => capacityRangeOf('CreateVolume', { required_bytes: '10', limit_bytes: '5' }), code(status.OUT_OF_RANGE, /limit_bytes \(5\) is below required_bytes \(10\)/));
  });

  it('reads node names from topology segments and refuses a segment without the Loam key', () => {
    assert.deepEqual(nodesOfTopologies('CreateVolume', 'preferred', [{ segments: { 'topology.loam.io/node': 'b' } }, { segments: { 'topology.loam.io/node': 'a' } }, { segments: { 'topology.loam.io/node': 'b' } }]), ['b', 'a']);
    assert.throws(() => nodesOfTopologies('CreateVolume', 'accessibility_requirements.requisite', [{ segments: { zone: 'z' } }]),
      code(status.INVALID_ARGUMENT, /accessibility_requirements.requisite\[0\] has no topology.loam.io\/node segment/));
  });
});
