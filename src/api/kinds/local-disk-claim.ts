/** LocalDiskClaim (`ldc`): "give these disks of this node to this owner" (design §3). */
import { claimPhases, localStorageOwner } from '../constants.js';
import { arrayField, enumField, int32Field, objectField, stringField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, devicePathField, maxNameLength, mediaClassField, messageField, nodeNameField } from './common.js';

interface CapacityRange { minCapacityBytes?: number; maxCapacityBytes?: number }

const description = objectField('Which Available disks of the node match. Every field narrows the match; an empty description matches every Available disk.', {
  mediaClass: mediaClassField('Only disks of this media class: HDD, SSD or NVMe.'),
  minCapacityBytes: bytesField('Only disks at least this large.'),
  maxCapacityBytes: bytesField('Only disks at most this large.'),
  devicePaths: arrayField(
    devicePathField('Absolute device path under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4.'),
    'Only these disks, by current device path or /dev/disk/by-id link.',
    { maxItems: 64, listType: 'set' },
  ),
  count: int32Field('Bind at most this many disks; all matching disks when absent.', { minimum: 1, maximum: 256 }),
}, {
  typeName: 'DiskClaimDescription',
  rules: [{
    rule: '!has(self.minCapacityBytes) || !has(self.maxCapacityBytes) || self.minCapacityBytes <= self.maxCapacityBytes',
    message: 'spec.description.minCapacityBytes must not exceed spec.description.maxCapacityBytes: lower the minimum or raise the maximum',
    fieldPath: '.minCapacityBytes',
    check: (self: CapacityRange) => self.minCapacityBytes === undefined || self.maxCapacityBytes === undefined || self.minCapacityBytes <= self.maxCapacityBytes,
  }],
});

export const localDiskClaim: KindDefinition = {
  kind: 'LocalDiskClaim',
  plural: 'localdiskclaims',
  singular: 'localdiskclaim',
  shortName: 'ldc',
  description: 'LocalDiskClaim gives matching Available disks of one node to an owner. The claim controller binds disks by setting their spec.claimRef; '
    + 'a Pending claim is re-evaluated as disks appear. Deleting the claim releases its disks that are not InUse.',
  spec: objectField('Which disks of which node, for whom.', {
    nodeName: nodeNameField('whose disks are claimed'),
    owner: stringField(`Who receives the disks; ${localStorageOwner} (the default) puts them into Loam's LVM pools.`, {
      default: localStorageOwner, minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    }),
    description,
  }, { required: ['nodeName'], typeName: 'LocalDiskClaimSpec' }),
  status: objectField('What the claim controller bound.', {
    phase: enumField(claimPhases, 'Pending: no matching disk yet (re-evaluated as disks appear). Bound: at least one disk is bound.', { typeName: 'LocalDiskClaimPhase' }),
    boundDisks: arrayField(stringField('Name of a LocalDisk.', { maxLength: maxNameLength }), 'Names of the LocalDisks bound to this claim.', { maxItems: 256, listType: 'set' }),
    capacity: capacityStringField('Total size of the bound disks'),
    message: messageField('Human-readable details, e.g. why nothing matches yet.'),
    conditions: conditionsField('claim'),
  }, { typeName: 'LocalDiskClaimStatus' }),
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'Node whose disks are claimed.' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner', description: 'Who receives the disks.' },
    { name: 'Class', type: 'string', jsonPath: '.spec.description.mediaClass', description: 'Media class asked for.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pending or Bound.' },
    { name: 'Capacity', type: 'string', jsonPath: '.status.capacity', description: 'Total size of the bound disks.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Details.', priority: 1 },
  ],
};
