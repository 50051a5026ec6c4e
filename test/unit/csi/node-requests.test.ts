import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { createNodeService, nodeCapabilities, type CsiNodeService } from '../../../src/csi/node-service.js';
import { CsiError } from '../../../src/csi/errors.js';
import type { VolumeCapability } from '../../../src/csi/generated/csi/v1/VolumeCapability.js';
import { fsTypeOf, mountFlagsOf } from '../../../src/csi/node-requests.js';
import { topologyKey } from '../../../src/csi/validate.js';
import { nodeOfLabelValue } from '../../../src/api/index.js';
import type { KubeClients } from '../../../src/kube/index.js';

// Validation happens before the service reads anything: a client that fails any use proves it.
const unusedClients = { rest: new Proxy({}, { get: () => assert.fail('validation must not reach the API server') }) } as unknown as KubeClients;
const unusedLvm = { findLv: async () => assert.fail('validation must not reach LVM') };

const mountCap: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

function invalid(field: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CsiError, `a CsiError, got ${String(err)}`);
    assert.equal(err.code, status.INVALID_ARGUMENT, `INVALID_ARGUMENT, got ${status[err.code]}: ${err.message}`);
    assert.match(err.details, new RegExp(field));
    return true;
  };
}

/** Every required field left out in turn must be named in INVALID_ARGUMENT. */
async function eachMissing<T extends object>(call: (req: T) => Promise<unknown>, complete: T, fields: Array<keyof T & string>): Promise<void> {
  for (const field of fields) {
    const req = { ...complete };
    delete req[field];
    await assert.rejects(call(req), invalid(`${field} is required`), `without ${field}`);
    await assert.rejects(call({ ...complete, [field]: '' }), invalid(`${field} is required`), `with empty ${field}`);
  }
}

describe('csi node: request validation', () => {
  let svc: CsiNodeService;
  before(() => {
    svc = createNodeService({ nodeName: 'node-a', clients: unusedClients, lvm: unusedLvm });
  });

  it('NodeStageVolume: volume_id, staging_target_path, volume_capability', async () => {
    await eachMissing((r) => svc.NodeStageVolume(r), { volume_id: 'pvc-1', staging_target_path: '/stage', volume_capability: mountCap }, ['volume_id', 'staging_target_path', 'volume_capability']);
  });

  it('NodeUnstageVolume: volume_id, staging_target_path', async () => {
    await eachMissing((r) => svc.NodeUnstageVolume(r), { volume_id: 'pvc-1', staging_target_path: '/stage' }, ['volume_id', 'staging_target_path']);
  });

  it('NodePublishVolume: volume_id, target_path, volume_capability, staging_target_path', async () => {
    await eachMissing((r) => svc.NodePublishVolume(r), { volume_id: 'pvc-1', target_path: '/t', staging_target_path: '/stage', volume_capability: mountCap },
      ['volume_id', 'target_path', 'volume_capability', 'staging_target_path']);
  });

  it('NodeUnpublishVolume: volume_id, target_path', async () => {
    await eachMissing((r) => svc.NodeUnpublishVolume(r), { volume_id: 'pvc-1', target_path: '/t' }, ['volume_id', 'target_path']);
  });

  it('NodeGetVolumeStats: volume_id, volume_path', async () => {
    await eachMissing((r) => svc.NodeGetVolumeStats(r), { volume_id: 'pvc-1', volume_path: '/t' }, ['volume_id', 'volume_path']);
  });

  it('NodeExpandVolume: volume_id, volume_path', async () => {
    await eachMissing((r) => svc.NodeExpandVolume(r), { volume_id: 'pvc-1', volume_path: '/t' }, ['volume_id', 'volume_path']);
  });

  it('a capability without access type or of a multi-node mode, an unknown filesystem, or a relative path is INVALID_ARGUMENT', async () => {
    await assert.rejects(svc.NodeStageVolume({ volume_id: 'v', staging_target_path: '/s', volume_capability: { access_mode: { mode: 1 } } }), invalid('access type'));
    await assert.rejects(svc.NodeStageVolume({ volume_id: 'v', staging_target_path: '/s', volume_capability: { mount: { fs_type: 'btrfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } } }), invalid('"btrfs" is not supported; use one of ext4, xfs'));
    await assert.rejects(svc.NodeStageVolume({ volume_id: 'v', staging_target_path: 'stage', volume_capability: mountCap }), invalid('staging_target_path "stage" must be an absolute path'));
    await assert.rejects(svc.NodePublishVolume({ volume_id: 'v', staging_target_path: '/var/lib/kubelet/s', target_path: 'rel', volume_capability: mountCap }), invalid('target_path "rel" must be an absolute path'));
  });

  it('a staging or target path outside the kubelet directory is INVALID_ARGUMENT before the API server or LVM is asked', async () => {
    // Paths that exist nowhere: a regression must not be able to touch a file of the machine running the tests.
    await assert.rejects(svc.NodeStageVolume({ volume_id: 'v', staging_target_path: '/nonexistent-loam/etc', volume_capability: mountCap }), invalid('staging_target_path "/nonexistent-loam/etc" must be inside the kubelet directory /var/lib/kubelet'));
    await assert.rejects(svc.NodePublishVolume({ volume_id: 'v', staging_target_path: '/var/lib/kubelet/s', target_path: '/var/lib/kubelet/../../../nonexistent-loam/.ssh', volume_capability: mountCap }), invalid('target_path .* must not contain ".."'));
    await assert.rejects(svc.NodeUnpublishVolume({ volume_id: 'v', target_path: '/nonexistent-loam/usr/bin/env' }), invalid('target_path "/nonexistent-loam/usr/bin/env" must be inside the kubelet directory'));
    await assert.rejects(svc.NodeUnstageVolume({ volume_id: 'v', staging_target_path: '/var/lib' }), invalid('staging_target_path "/var/lib" must be inside the kubelet directory'));
  });

  it('NodeGetInfo names the node and its topology segment; capabilities are the advertised five', async () => {
    assert.deepEqual(await svc.NodeGetInfo(), { node_id: 'node-a', max_volumes_per_node: 0, accessible_topology: { segments: { [topologyKey]: 'node-a' } } });
    assert.equal(topologyKey, 'topology.loam.io/node');
    assert.deepEqual((await svc.NodeGetCapabilities()).capabilities?.map((c) => c.rpc?.type), [...nodeCapabilities]);
    assert.deepEqual([...nodeCapabilities], ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER']);
  });

  it('NodeGetInfo of a node whose name is too long for a label value gives a segment kubelet can write onto the Node', async () => {
    const long = `worker-17.${'rack-4.'.repeat(8)}storage.example.com`;
    const info = await createNodeService({ nodeName: long, clients: unusedClients, lvm: unusedLvm }).NodeGetInfo();
    assert.equal(info.node_id, long);
    const value = info.accessible_topology!.segments![topologyKey]!;
    assert.ok(value.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value), `a valid label value: ${value}`);
    assert.equal(nodeOfLabelValue(value, () => false, () => ['other', long]), long, 'the controller maps it back to the node');
    assert.equal(nodeOfLabelValue('node-a', (n) => n === 'node-a', () => []), 'node-a');
  });
});

describe('csi node: filesystem and flags of a request', () => {
  it('fs type: the capability first, then volume_context fstype, then ext4', () => {
    assert.equal(fsTypeOf('R', { mount: { fs_type: 'xfs' } }, { fstype: 'ext4' }), 'xfs');
    assert.equal(fsTypeOf('R', { mount: {} }, { fstype: 'xfs' }), 'xfs');
    assert.equal(fsTypeOf('R', { mount: { fs_type: '' } }, undefined), 'ext4');
  });

  it('mount flags: single options pass, anything with whitespace is refused', () => {
    assert.deepEqual(mountFlagsOf('R', { mount: { mount_flags: ['noatime', 'discard'] } }), ['noatime', 'discard']);
    assert.throws(() => mountFlagsOf('R', { mount: { mount_flags: ['noatime nodev'] } }), invalid('not a single mount option'));
  });

});
