/* eslint-disable @typescript-eslint/no-explicit-any -- the cases break typed objects on purpose */
/**
 * Hostile custom resources: names, pool names, paths, option-like strings and huge values that
 * would reach LVM, DRBD's configuration, a label or a path if the API let them through. Shared by
 * the ajv unit test and the real API server test (test/integration/api/hostile.test.ts).
 */
import type { LoamObject } from '../../../src/api/index.js';

export interface HostileCase {
  name: string;
  kind: LoamObject['kind'];
  /** Breaks a valid object before create. */
  create?: (o: any) => void;
  /** A merge patch of /status, applied after a valid create. */
  status?: object;
  /** What the API server says. */
  apiServer: RegExp;
  /** What the ajv validator says (one of its problems matches). */
  ajv: RegExp;
}

const poolMessage = (v: string) => new RegExp(`"${escape(v)}" is not a Loam volume group: spec\\.poolName must be loam-hdd, loam-ssd or loam-nvme`);
const volumeMessage = (v: string) => new RegExp(`"${escape(v)}" is not a volume name: use a volume id such as pvc-<uid>: at most 63 lower-case letters, digits and "-"`);
const nodeMessage = (v: string) => new RegExp(`"${escape(v)}" is not a node name: use the name of a Kubernetes Node`);
const pathMessage = (v: string) => new RegExp(`"${escape(v)}" is not a plain device path: remove "\\.\\." parts, spaces and control characters`);
const ajvPool = /spec\.poolName: spec\.poolName must be loam-hdd, loam-ssd or loam-nvme/;
const ajvVolume = (path: string) => new RegExp(`${escape(path)} must be a volume id such as pvc-<uid>`);
const ajvNode = (path: string) => new RegExp(`${escape(path)}: [\\w.]+ must hold the name of a Kubernetes Node`);
const ajvPath = (path: string) => new RegExp(`${escape(path)}: device paths must not contain "\\.\\." parts, spaces or control characters`);
const tooLong = (path: string, max: number) => new RegExp(`${escape(path)}: Too long: may not be (more than|longer than) ${max}`);

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const hostileCases: HostileCase[] = [
  // Pool names: the LV must land in a Loam VG, never in the OS's.
  { name: 'pool name of the OS volume group', kind: 'LocalVolumeReplica', create: (o) => { o.spec.poolName = 'ubuntu-vg'; }, apiServer: poolMessage('ubuntu-vg'), ajv: ajvPool },
  { name: 'pool name that is an LVM option', kind: 'LocalVolumeReplica', create: (o) => { o.spec.poolName = '--yes'; }, apiServer: poolMessage('--yes'), ajv: ajvPool },
  { name: 'pool name with a path in it', kind: 'LocalVolumeReplica', create: (o) => { o.spec.poolName = 'loam-ssd/../ubuntu-vg'; }, apiServer: poolMessage('loam-ssd/../ubuntu-vg'), ajv: ajvPool },
  { name: 'pool name in capitals', kind: 'LocalVolumeReplica', create: (o) => { o.spec.poolName = 'LOAM-SSD'; }, apiServer: poolMessage('LOAM-SSD'), ajv: ajvPool },
  { name: 'huge pool name', kind: 'LocalVolumeReplica', create: (o) => { o.spec.poolName = 'x'.repeat(100_000); }, apiServer: tooLong('spec.poolName', 32), ajv: /spec\.poolName: must NOT have more than 32 characters/ },
  // Volume names: they name the LV (lvcreate -n) and the loam.io/volume label.
  { name: 'replica volume name that is an LVM option', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = '-ay'; }, apiServer: volumeMessage('-ay'), ajv: ajvVolume('spec.volumeName') },
  { name: 'replica volume name with a path', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = '../../etc/lvm'; }, apiServer: volumeMessage('../../etc/lvm'), ajv: ajvVolume('spec.volumeName') },
  { name: 'replica volume name with a space and an option', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = 'pvc-1 --yes'; }, apiServer: volumeMessage('pvc-1 --yes'), ajv: ajvVolume('spec.volumeName') },
  { name: 'replica volume name LVM reserves', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = 'snapshot0'; }, apiServer: volumeMessage('snapshot0'), ajv: ajvVolume('spec.volumeName') },
  { name: 'replica volume name in capitals', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = 'PVC-1'; }, apiServer: volumeMessage('PVC-1'), ajv: ajvVolume('spec.volumeName') },
  { name: 'replica volume name too long for a label', kind: 'LocalVolumeReplica', create: (o) => { o.spec.volumeName = `pvc-${'a'.repeat(60)}`; }, apiServer: tooLong('spec.volumeName', 63), ajv: /spec\.volumeName: must NOT have more than 63 characters/ },
  { name: 'volume named with a dot (a valid object name, not an LV or label name)', kind: 'LocalVolume', create: (o) => { o.metadata.name = 'pvc.evil'; }, apiServer: volumeMessage('pvc.evil'), ajv: ajvVolume('metadata.name') },
  { name: 'volume named too long for an LV name and a label', kind: 'LocalVolume', create: (o) => { o.metadata.name = `pvc-${'b'.repeat(80)}`; }, apiServer: volumeMessage(`pvc-${'b'.repeat(80)}`), ajv: ajvVolume('metadata.name') },
  { name: 'volume named as LVM reserves', kind: 'LocalVolume', create: (o) => { o.metadata.name = 'pvmove-1'; }, apiServer: volumeMessage('pvmove-1'), ajv: ajvVolume('metadata.name') },
  // Node names: label values, DRBD's `on <host>`, object names.
  { name: 'node name with a path', kind: 'LocalVolumeReplica', create: (o) => { o.spec.nodeName = '../../etc'; }, apiServer: nodeMessage('../../etc'), ajv: ajvNode('spec.nodeName') },
  { name: 'node name with an option', kind: 'LocalDisk', create: (o) => { o.spec.nodeName = 'n1 --force'; }, apiServer: nodeMessage('n1 --force'), ajv: ajvNode('spec.nodeName') },
  { name: 'node name in capitals with an underscore', kind: 'LocalDiskClaim', create: (o) => { o.spec.nodeName = 'Node_1'; }, apiServer: nodeMessage('Node_1'), ajv: ajvNode('spec.nodeName') },
  { name: 'huge node name', kind: 'LocalStorageNode', create: (o) => { o.spec.nodeName = 'n'.repeat(300); }, apiServer: tooLong('spec.nodeName', 253), ajv: /spec\.nodeName: must NOT have more than 253 characters/ },
  { name: 'replica node that is an option', kind: 'LocalVolume', create: (o) => { o.spec.replicaNodes = ['-rf']; o.spec.replicaCount = 1; }, apiServer: nodeMessage('-rf'), ajv: ajvNode('spec.replicaNodes[0]') },
  { name: 'required node with a shell expansion', kind: 'LocalVolume', create: (o) => { o.spec.accessibility.requiredNodes = ['$(reboot)']; }, apiServer: nodeMessage('$(reboot)'), ajv: ajvNode('spec.accessibility.requiredNodes[0]') },
  // A message naming a value with a line break is not allowed: the server falls back to the static message.
  { name: 'DRBD peer node with a newline', kind: 'LocalVolumeReplica', create: (o) => { o.spec.drbd.peerNode = 'n2\n}'; }, apiServer: /spec\.drbd\.peerNode: Invalid value: "n2\\n}": spec\.drbd\.peerNode must hold the name of a Kubernetes Node/, ajv: ajvNode('spec.drbd.peerNode') },
  { name: 'DRBD peer address that injects configuration', kind: 'LocalVolumeReplica', create: (o) => { o.spec.drbd.peerAddress = '192.0.2.1; disk /dev/sda'; },
    apiServer: /spec\.drbd\.peerAddress: Invalid value: .*spec\.drbd\.peerAddress must be an IP address \(IPv4 such as 192\.0\.2\.12 or IPv6 such as 2001:db8::12\)/, ajv: /spec\.drbd\.peerAddress: spec\.drbd\.peerAddress must be an IP address/ },
  // Paths.
  { name: 'device path that climbs out of /dev', kind: 'LocalDisk', create: (o) => { o.spec.devicePath = '/dev/../etc/shadow'; }, apiServer: pathMessage('/dev/../etc/shadow'), ajv: ajvPath('spec.devicePath') },
  { name: 'claim device path that climbs out of /dev', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.devicePaths = ['/dev/disk/../../root/disk.img']; }, apiServer: pathMessage('/dev/disk/../../root/disk.img'), ajv: ajvPath('spec.description.devicePaths[0]') },
  { name: 'device path with a space and an option', kind: 'LocalDisk', create: (o) => { o.spec.devicePath = '/dev/sdb --yes'; }, apiServer: pathMessage('/dev/sdb --yes'), ajv: ajvPath('spec.devicePath') },
  { name: 'replica device path outside /dev in status', kind: 'LocalVolumeReplica', status: { status: { devicePath: '/etc/passwd' } }, apiServer: /status\.devicePath: Invalid value: .*"\/etc\/passwd" is not a device path: use an absolute path under \/dev\//, ajv: /status\.devicePath: device paths must be absolute paths under \/dev\// },
  // Huge values.
  { name: 'volume larger than a byte count can be exactly', kind: 'LocalVolume', create: (o) => { o.spec.capacityBytes = 2 ** 60; }, apiServer: /spec\.capacityBytes: Invalid value: .*should be less than or equal to 9007199254740991/, ajv: /spec\.capacityBytes: must be <= 9007199254740991/ },
  { name: 'replica larger than a byte count can be exactly', kind: 'LocalVolumeReplica', create: (o) => { o.spec.capacityBytes = 2 ** 62; }, apiServer: /spec\.capacityBytes: Invalid value: .*should be less than or equal to 9007199254740991/, ajv: /spec\.capacityBytes: must be <= 9007199254740991/ },
];
