/** LocalVolumeReplica (`lvr`): the LV of one volume on one node, named `<volume>-<12 hex of sha256(node)>` (src/api/names.ts). */
import { replicaStates } from '../constants.js';
import { boolField, enumField, int32Field, int64Field, objectField, stringField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, devicePathField, immutable, maxBytes, messageField, nodeNameField, nodeRefField, onlyGrows, poolNameField, volumeNameField } from './common.js';

const ipAddress = /^[0-9a-fA-F.:]+$/;

const drbd = objectField('DRBD wiring of a two-replica volume; absent for a single replica.', {
  minor: int32Field('DRBD device minor: the replica appears as /dev/drbd<minor>.', { minimum: 0, maximum: 1048575 }),
  port: int32Field('TCP port DRBD listens on for this volume on this node.', { minimum: 1, maximum: 65535 }),
  peerNode: nodeRefField('spec.drbd.peerNode', 'Node of the other replica.'),
  // Written into DRBD's resource file: only the characters of an IP address may pass.
  peerAddress: stringField('IP address of the other replica\'s node for the replication link.', {
    maxLength: 64,
    rules: [{
      rule: `self.matches('${ipAddress.source}')`,
      message: 'spec.drbd.peerAddress must be an IP address (IPv4 such as 192.0.2.12 or IPv6 such as 2001:db8::12): it is written into DRBD\'s configuration',
      check: (self: string) => ipAddress.test(self),
    }],
  }),
}, { required: ['minor', 'port', 'peerNode', 'peerAddress'], typeName: 'DrbdConfig' });

export const localVolumeReplica: KindDefinition = {
  kind: 'LocalVolumeReplica',
  plural: 'localvolumereplicas',
  singular: 'localvolumereplica',
  shortName: 'lvr',
  description: 'LocalVolumeReplica is the LV of one LocalVolume on one node, named <volume>-<first 12 hex of sha256(node name)> (earlier versions: <volume>-<node>; replicas are found by spec.volumeName and spec.nodeName, not by name). Volume placement creates it; the node agent of spec.nodeName makes the LV (lvcreate, tagged loam.io) and reports it here.',
  spec: objectField('Which LV, where.', {
    volumeName: volumeNameField('spec.volumeName', 'Name of the LocalVolume, which is also the LV name. Immutable.', [immutable('spec.volumeName', 'to attach a replica to another volume')]),
    nodeName: nodeNameField('that holds the LV'),
    poolName: poolNameField('Pool (volume group) the LV is carved from: loam-hdd, loam-ssd or loam-nvme.'),
    capacityBytes: int64Field('Size of the LV in bytes. It can only grow.', { minimum: 1, maximum: maxBytes, rules: [onlyGrows('spec.capacityBytes', 'LVs of a volume are never shrunk; grow the LocalVolume instead')] }),
    drbd,
  }, { required: ['volumeName', 'nodeName', 'poolName', 'capacityBytes'], typeName: 'LocalVolumeReplicaSpec' }),
  status: objectField('Written by the node agent of spec.nodeName.', {
    state: enumField(replicaStates, 'Creating, Ready, Expanding (lvextend running), Deleting (LV being removed) or Failed (see message).', { typeName: 'LocalVolumeReplicaState' }),
    devicePath: devicePathField('Block device of the replica on its node: the LV, or /dev/drbd<minor> for two replicas.'),
    allocatedBytes: bytesField('Size of the LV as LVM reports it.'),
    capacity: capacityStringField('allocatedBytes'),
    synced: boolField('Whether the replica holds an up-to-date copy (always true for a single replica once Ready).'),
    message: messageField('Human-readable details, e.g. the LVM error of a Failed replica.'),
    conditions: conditionsField('replica'),
  }, { typeName: 'LocalVolumeReplicaStatus' }),
  printerColumns: [
    { name: 'Volume', type: 'string', jsonPath: '.spec.volumeName', description: 'The LocalVolume.' },
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'Node holding the LV.' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.poolName', description: 'Volume group.' },
    { name: 'Capacity', type: 'string', jsonPath: '.status.capacity', description: 'Allocated size in binary units.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'State of the replica.' },
    { name: 'Synced', type: 'boolean', jsonPath: '.status.synced', description: 'Up-to-date copy.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
  ],
};
