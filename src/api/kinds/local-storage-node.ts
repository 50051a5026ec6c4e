/** LocalStorageNode (`lsn`): one per node, the LVM pools Local Storage runs there (design §3). */
import { storageNodeStates } from '../constants.js';
import { arrayField, enumField, objectField, stringField, timeField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, countField, maxNameLength, mediaClassField, messageField, nodeNameField } from './common.js';

const pool = objectField('One LVM pool: the volume group of one media class on this node.', {
  name: stringField('Pool name, e.g. loam-ssd.', { minLength: 1, maxLength: 128 }),
  mediaClass: mediaClassField('Media class of the pool\'s disks.'),
  vgName: stringField('LVM volume group of the pool: loam-hdd, loam-ssd or loam-nvme.', { maxLength: 128 }),
  totalBytes: bytesField('Size of the volume group (vg_size).'),
  freeBytes: bytesField('Unallocated space of the volume group (vg_free).'),
  volumeCount: countField('Number of Loam logical volumes in the pool.'),
  disks: arrayField(stringField('Name of a LocalDisk.', { maxLength: maxNameLength }), 'LocalDisks that are physical volumes of the pool.', { maxItems: 256, listType: 'set' }),
  total: capacityStringField('totalBytes'),
  free: capacityStringField('freeBytes'),
  state: enumField(['Ready', 'Degraded'], 'Ready: every physical volume of the pool is present. Degraded: some are missing (missingDisks); volumes whose LVs lie wholly on present disks keep working, '
    + 'LVM allocates nothing new in the VG (freeBytes is then 0) until the disk returns or is removed from the VG (vgreduce --removemissing).', { typeName: 'StoragePoolState' }),
  missingDisks: arrayField(stringField('Name of a LocalDisk, or "pv <UUID>" where no LocalDisk records that physical volume.', { maxLength: maxNameLength }),
    'Disks whose physical volume the pool\'s VG records but LVM cannot find.', { maxItems: 256, listType: 'set' }),
  message: messageField('Why the pool is Degraded and what to do.'),
}, { required: ['name', 'mediaClass'], typeName: 'StoragePool' });

const unownedVolume = objectField('An LV tagged loam.io in a Loam volume group that no LocalVolumeReplica of this node owns. Loam never removes it.', {
  vgName: stringField('Volume group of the LV.', { maxLength: 128 }),
  lvName: stringField('Name of the LV (the name of the volume it was made for).', { maxLength: 128 }),
  sizeBytes: bytesField('Size of the LV (lv_size).'),
  replicaUid: stringField('metadata.uid of the LocalVolumeReplica the LV was made for (its loam.io/replica-uid tag); absent for an LV made before LVs carried it.', { maxLength: 64 }),
}, { required: ['vgName', 'lvName'], typeName: 'UnownedVolume' });

export const localStorageNode: KindDefinition = {
  kind: 'LocalStorageNode',
  plural: 'localstoragenodes',
  singular: 'localstoragenode',
  shortName: 'lsn',
  description: 'LocalStorageNode reports the LVM pools of one node (one volume group per media class), as read from vgs by the node agent. '
    + 'The scheduler extender and volume placement read free space from here. Named after the node.',
  spec: objectField('Which node.', {
    nodeName: nodeNameField('whose pools are reported'),
  }, { required: ['nodeName'], typeName: 'LocalStorageNodeSpec' }),
  status: objectField('Written by the node agent.', {
    state: enumField(storageNodeStates, 'Ready: the node agent runs and its volume groups are active. NotReady: volumes cannot be placed here.', { typeName: 'LocalStorageNodeState' }),
    pools: arrayField(pool, 'The node\'s pools, one per media class present.', { maxItems: 3, listType: 'map', listMapKeys: ['name'] }),
    poolClasses: stringField('Media classes of the pools, comma-separated (e.g. "SSD,NVMe"), for printer columns.', { maxLength: 32 }),
    free: capacityStringField('Free space of all pools together'),
    lastHeartbeatTime: timeField('When the node agent last reported; a stale heartbeat means the agent is down.'),
    message: messageField('Why the node is NotReady.'),
    unownedVolumes: arrayField(unownedVolume, 'LVs Loam made that no replica owns any more (a replica dropped with its node, deleted without its finalizer, or an earlier volume of the same name). '
      + 'Their data is kept: look at it, then remove the LV with lvremove, or keep it. An event on this object names each one when it is first seen.', { maxItems: 1024, listType: 'atomic' }),
    conditions: conditionsField('node\'s storage'),
  }, { typeName: 'LocalStorageNodeStatus' }),
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'The node.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Ready or NotReady.' },
    { name: 'Pools', type: 'string', jsonPath: '.status.poolClasses', description: 'Media classes of the node\'s pools.' },
    { name: 'Free', type: 'string', jsonPath: '.status.free', description: 'Free space of all pools together.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
  ],
};
