/** LocalDiskNode (`ldn`): one per node, the disks of the node at a glance (design §3). */
import { arrayField, objectField, timeField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, countField, mediaClassField, nodeNameField } from './common.js';

const diskCounts = objectField('Number of the node\'s LocalDisks in each state.', {
  total: countField('All disks of the node, Offline ones included.'),
  available: countField('Disks in state Available.'),
  claimed: countField('Disks in state Claimed.'),
  inUse: countField('Disks in state InUse.'),
  unavailable: countField('Disks in state Unavailable.'),
  offline: countField('Disks in state Offline.'),
}, { typeName: 'DiskCounts' });

const classCapacity = objectField('Capacity of the node\'s disks of one media class.', {
  mediaClass: mediaClassField('The media class.'),
  disks: countField('Number of disks of this class.'),
  totalBytes: bytesField('Size of all disks of this class.'),
  availableBytes: bytesField('Size of the Available disks of this class.'),
  total: capacityStringField('totalBytes'),
  available: capacityStringField('availableBytes'),
}, { required: ['mediaClass'], typeName: 'ClassCapacity' });

export const localDiskNode: KindDefinition = {
  kind: 'LocalDiskNode',
  plural: 'localdisknodes',
  singular: 'localdisknode',
  shortName: 'ldn',
  description: 'LocalDiskNode summarises the disks of one node: counts by state, capacity by media class, and the heartbeat of its node agent. Named after the node.',
  spec: objectField('Which node.', {
    nodeName: nodeNameField('summarised'),
  }, { required: ['nodeName'], typeName: 'LocalDiskNodeSpec' }),
  status: objectField('Written by the node agent.', {
    disks: diskCounts,
    capacity: arrayField(classCapacity, 'Capacity by media class, one entry per class present on the node.', { maxItems: 3, listType: 'map', listMapKeys: ['mediaClass'] }),
    lastHeartbeatTime: timeField('When the node agent last reported; a stale heartbeat means the agent is down.'),
    conditions: conditionsField('node\'s disk manager'),
  }, { typeName: 'LocalDiskNodeStatus' }),
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'The node.' },
    { name: 'Disks', type: 'integer', jsonPath: '.status.disks.total', description: 'All disks of the node.' },
    { name: 'Available', type: 'integer', jsonPath: '.status.disks.available', description: 'Disks that can be claimed.' },
    { name: 'InUse', type: 'integer', jsonPath: '.status.disks.inUse', description: 'Disks in Loam pools.' },
    { name: 'Offline', type: 'integer', jsonPath: '.status.disks.offline', description: 'Disks gone from the node.' },
    { name: 'Heartbeat', type: 'date', jsonPath: '.status.lastHeartbeatTime', description: 'Time since the node agent last reported.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
  ],
};
