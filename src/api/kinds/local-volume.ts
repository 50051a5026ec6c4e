/** LocalVolume (`lv`): one CSI volume, named by its volume id (design §3). */
import { volumeStates } from '../constants.js';
import { arrayField, boolField, enumField, int32Field, int64Field, objectField, stringField, timeField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, immutable, maxBytes, maxNameLength, mediaClassField, messageField, nodeRefField, onlyGrows, volumeNameRule } from './common.js';

interface VolumeSpecShape { replicaCount?: number; replicaNodes?: string[] }

const nodeList = (field: string, description: string) =>
  arrayField(nodeRefField(field, 'Node name.'), description, { maxItems: 16, listType: 'atomic' });

const replicaStatus = objectField('One replica as the volume sees it.', {
  name: stringField('Name of the LocalVolumeReplica.', { maxLength: maxNameLength }),
  nodeName: stringField('Node of the replica.', { maxLength: maxNameLength }),
  state: stringField('State of the LocalVolumeReplica.', { maxLength: 32 }),
  synced: boolField('Whether the replica holds an up-to-date copy of the data.'),
}, { required: ['nodeName'], typeName: 'VolumeReplicaStatus' });

export const localVolume: KindDefinition = {
  kind: 'LocalVolume',
  plural: 'localvolumes',
  singular: 'localvolume',
  shortName: 'lv',
  description: 'LocalVolume is one CSI volume of driver lvm.loam.io, named by its volume id (pvc-<uid>). CreateVolume writes it; placement fills spec.replicaNodes; '
    + 'node agents create one LV per replica (LocalVolumeReplica) and, for two replicas, connect them with DRBD.',
  spec: objectField('What volume is wanted, and where its replicas go.', {
    poolClass: {
      ...mediaClassField('Media class of the pool the volume is carved from: HDD, SSD or NVMe (StorageClass parameter poolClass). Immutable.'),
      rules: [immutable('spec.poolClass', 'to use another media class (create a new volume in that class and copy the data)')],
    },
    capacityBytes: int64Field('Size of the volume in bytes. It can only grow (volume expansion); shrinking is refused.', { minimum: 1, maximum: maxBytes, rules: [onlyGrows('spec.capacityBytes', 'volumes cannot shrink; to get a smaller volume create a new one and copy the data')] }),
    replicaCount: int32Field('Number of copies: 1 (one LV on one node) or 2 (two LVs on two nodes mirrored with DRBD). Immutable.', {
      default: 1,
      rules: [{
        rule: 'self >= 1 && self <= 2',
        message: 'spec.replicaCount must be 1 (a single local copy) or 2 (mirrored on two nodes with DRBD)',
        check: (self: number) => self >= 1 && self <= 2,
      }, immutable('spec.replicaCount', 'to change the number of copies (create a new volume and copy the data)')],
    }),
    pvcRef: objectField('The PersistentVolumeClaim the volume was provisioned for (from the CSI parameters csi.storage.k8s.io/pvc/namespace and /name).', {
      namespace: stringField('Namespace of the claim.', { maxLength: 63 }),
      name: stringField('Name of the claim.', { maxLength: maxNameLength }),
    }, { required: ['namespace', 'name'], typeName: 'PvcReference' }),
    accessibility: objectField('Topology wishes of the CSI CreateVolume request.', {
      requiredNodes: nodeList('spec.accessibility.requiredNodes', 'Nodes the volume may be placed on (accessibility_requirements.requisite); empty means any.'),
      preferredNodes: nodeList('spec.accessibility.preferredNodes', 'Nodes to try first, in order (accessibility_requirements.preferred); the first is usually the node the scheduler picked.'),
    }, { typeName: 'VolumeAccessibility' }),
    replicaNodes: arrayField(nodeRefField('spec.replicaNodes', 'Node name.'), 'Nodes holding the replicas, set by placement: first the selected node, then a second node for two replicas.', { maxItems: 2, listType: 'set' }),
  }, {
    required: ['poolClass', 'capacityBytes', 'replicaCount'],
    typeName: 'LocalVolumeSpec',
    rules: [{
      rule: '!has(self.replicaNodes) || size(self.replicaNodes) <= self.replicaCount',
      message: 'spec.replicaNodes lists more nodes than spec.replicaCount: list at most replicaCount nodes',
      fieldPath: '.replicaNodes',
      check: (self: VolumeSpecShape) => self.replicaNodes === undefined || self.replicaNodes.length <= (self.replicaCount ?? 1),
    }],
  }),
  status: objectField('Progress of the volume, written by the controller from its replicas.', {
    state: enumField(volumeStates, 'Pending: waiting for placement. Creating: replicas are being made. Ready: every replica is in sync. '
      + 'Degraded: a replica is missing or out of sync. Expanding: growing to spec.capacityBytes. Deleting: replicas are being removed. Failed: see message.', { typeName: 'LocalVolumeState' }),
    replicas: arrayField(replicaStatus, 'The volume\'s replicas.', { maxItems: 2, listType: 'map', listMapKeys: ['nodeName'] }),
    allocatedBytes: bytesField('Size of the smallest replica LV, which is what the volume can hold now.'),
    capacity: capacityStringField('spec.capacityBytes'),
    nodes: stringField('Replica nodes, comma-separated, for printer columns.', { maxLength: 512 }),
    message: messageField('Human-readable details, e.g. why the volume is Failed or Degraded.'),
    firstReadyTime: timeField('When the volume first became Ready. From then on it may hold data, so a replica that is gone is never made again empty (the volume goes Failed or Degraded instead).'),
    conditions: conditionsField('volume'),
  }, { typeName: 'LocalVolumeStatus' }),
  // The name is the LV name of every replica and the loam.io/volume label: LVM's and a label's rules apply.
  rules: [volumeNameRule('metadata.name', 'self.metadata.name', (self: { metadata?: { name?: unknown } }) => self.metadata?.name)],
  printerColumns: [
    { name: 'Pool', type: 'string', jsonPath: '.spec.poolClass', description: 'Media class of the pool.' },
    { name: 'Capacity', type: 'string', jsonPath: '.status.capacity', description: 'Size in binary units.' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicaCount', description: 'Number of copies.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'State of the volume.' },
    { name: 'Nodes', type: 'string', jsonPath: '.status.nodes', description: 'Nodes holding replicas.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
    { name: 'Claim', type: 'string', jsonPath: '.spec.pvcRef.name', description: 'PersistentVolumeClaim.', priority: 1 },
  ],
};
