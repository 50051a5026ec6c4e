/** LocalDisk (`ld`): one physical disk of one node, as the Local Disk Manager sees it (design §3). */
import { diskHealthValues, localDiskStates, localStorageOwner } from '../constants.js';
import { boolField, enumField, int32Field, int64Field, objectField, stringField, timeField, type KindDefinition } from '../schema.js';
import { bytesField, capacityStringField, conditionsField, devicePathField, maxNameLength, maxPathLength, mediaClassField, messageField, nodeNameField } from './common.js';

const identity = objectField('How the disk is recognised across reboots and renamed device nodes, from udev properties and sysfs.', {
  wwn: stringField('World Wide Name of the disk (udev ID_WWN_WITH_EXTENSION), e.g. 0x5000c500a1b2c3d4; empty when the disk reports none.', { maxLength: 256 }),
  serial: stringField('Serial number the disk reports (udev ID_SERIAL_SHORT).', { maxLength: 256 }),
  model: stringField('Model the disk reports (udev ID_MODEL).', { maxLength: 256 }),
  vendor: stringField('Vendor the disk reports (udev ID_VENDOR).', { maxLength: 256 }),
  byIdPath: stringField('Stable /dev/disk/by-id/ link of the disk, the preferred path for tools.', { maxLength: maxPathLength }),
  byPath: stringField('/dev/disk/by-path/ link of the disk: stable while it stays in the same slot.', { maxLength: maxPathLength }),
}, { typeName: 'DiskIdentity' });

const claimRef = objectField('The LocalDiskClaim this disk is bound to. Set by the claim controller; it can be set or cleared, never moved to another claim in one step.', {
  name: stringField('Name of the LocalDiskClaim.', { minLength: 1, maxLength: maxNameLength }),
  uid: stringField('UID of the LocalDiskClaim, so a recreated claim of the same name does not inherit the disk.', { minLength: 1, maxLength: 64 }),
}, { required: ['name', 'uid'], typeName: 'ClaimReference' });

const smart = objectField('Figures from the last SMART read (smartctl -j); absent where smartctl is not installed or the disk has no SMART.', {
  temperatureC: int32Field('Current temperature in degrees Celsius.', { minimum: -100, maximum: 200 }),
  powerOnHours: int64Field('Hours the disk has been powered on over its life.', { minimum: 0 }),
  mediaErrors: int64Field('Media and data-integrity errors (NVMe media_errors; ATA reallocated plus pending sectors).', { minimum: 0 }),
  percentageUsed: int32Field('Estimated share of the rated endurance used, in percent (NVMe percentage_used; may pass 100).', { minimum: 0, maximum: 255 }),
  checkedAt: timeField('When SMART was last read.'),
}, { typeName: 'SmartData' });

export const localDisk: KindDefinition = {
  kind: 'LocalDisk',
  plural: 'localdisks',
  singular: 'localdisk',
  shortName: 'ld',
  description: 'LocalDisk is one physical disk of one node, named <node>-<first 12 hex of sha256(stable id)>. '
    + 'The node agent writes it from udev and keeps it current; an admin may only set spec.reserved. '
    + 'A disk that holds anything (partitions, a filesystem, an LVM or RAID signature, holders, a mount) is Unavailable and never claimed.',
  spec: objectField('What the disk is. Written by the node agent, except reserved (set by an admin) and claimRef/owner (set by the claim controller).', {
    nodeName: nodeNameField('the disk is attached to'),
    devicePath: devicePathField('Current kernel device path of the disk, e.g. /dev/sdb. It may change across reboots; the object name does not.'),
    identity,
    capacityBytes: bytesField('Size of the disk.'),
    mediaClass: mediaClassField('Media class of the disk: HDD (rotational), SSD (non-rotational SCSI, SATA or virtio) or NVMe (NVMe transport). '
      + 'It decides which pool (volume group loam-hdd, loam-ssd or loam-nvme) the disk joins.'),
    reserved: boolField('Set to true to keep Loam away from this disk: it is never claimed and shows as Unavailable with reason Reserved.', { default: false }),
    claimRef,
    owner: stringField(`Who the disk was given to by its claim, e.g. ${localStorageOwner} for Loam's LVM pools.`, { maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
  }, {
    required: ['nodeName', 'devicePath', 'capacityBytes', 'mediaClass'],
    typeName: 'LocalDiskSpec',
    rules: [{
      rule: '!has(oldSelf.claimRef) || !has(self.claimRef) || self.claimRef == oldSelf.claimRef',
      message: 'spec.claimRef cannot move from one claim to another in one step: clear spec.claimRef first, then set the new claim',
      fieldPath: '.claimRef',
      reason: 'FieldValueForbidden',
    }],
  }),
  status: objectField('What the node agent observed about the disk.', {
    state: enumField(localDiskStates, 'Available: empty, not reserved, not claimed. Claimed: bound to a LocalDiskClaim. InUse: a physical volume of a Loam pool. '
      + 'Unavailable: holds data or is reserved (reason says which). Offline: gone from its node; the object stays and returns to its previous state when the disk comes back.', { typeName: 'LocalDiskState' }),
    reason: stringField('Why the disk is Unavailable or Offline, in words, e.g. "holds a filesystem (ext4)", "has a partition table (gpt)", "is mounted at /data", "is reserved by an administrator", "is not present on its node". The Safe condition carries the same finding as a short code (HasFilesystem, Partitioned, ...).', { maxLength: 256 }),
    health: enumField(diskHealthValues, 'Healthy, Warning (SMART attributes near their thresholds or media errors), Failing (SMART says the disk is failing) or Unknown (no SMART).', { typeName: 'DiskHealth' }),
    smart,
    capacity: capacityStringField('spec.capacityBytes'),
    lastSeen: timeField('When the node agent last saw the disk present.'),
    conditions: conditionsField('disk'),
    message: messageField('Human-readable details of the current state.'),
    pvUuid: stringField('UUID of the LVM physical volume Loam makes, or made, on this disk (LVM\'s format). loam-node chooses it and writes it here before it runs pvcreate --uuid, '
      + 'so a physical volume in no volume group is adopted only when it carries this UUID (Loam made it and stopped before vgcreate/vgextend); any other is left alone. '
      + 'It also names the disk when its physical volume goes missing from a pool.', { maxLength: 38, pattern: '^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$' }),
  }, { typeName: 'LocalDiskStatus' }),
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'Node the disk is attached to.' },
    { name: 'Device', type: 'string', jsonPath: '.spec.devicePath', description: 'Current device path.' },
    { name: 'Class', type: 'string', jsonPath: '.spec.mediaClass', description: 'Media class.' },
    { name: 'Capacity', type: 'string', jsonPath: '.status.capacity', description: 'Size in binary units.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Available, Claimed, InUse, Unavailable or Offline.' },
    { name: 'Health', type: 'string', jsonPath: '.status.health', description: 'SMART health.' },
    { name: 'Claim', type: 'string', jsonPath: '.spec.claimRef.name', description: 'LocalDiskClaim the disk is bound to.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the disk was first discovered.' },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason', description: 'Why the disk is Unavailable or Offline.', priority: 1 },
    { name: 'Serial', type: 'string', jsonPath: '.spec.identity.serial', description: 'Serial number.', priority: 1 },
  ],
};

