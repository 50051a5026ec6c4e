/**
 * The Node service's decisions, kept apart from the commands that carry them out so they can be
 * read and tested on their own. Facts in (what blkid found on the device, which devices are mounted
 * where), one action out, or the gRPC error the CO should see. The rule that matters most:
 * a device that holds anything is never formatted.
 */
import { alreadyExists, failedPrecondition } from './errors.js';
import type { AccessType } from './node-requests.js';
import type { FsType } from './validate.js';
import type { DeviceContents } from './node-fs.js';

export interface StageFacts {
  volumeId: string;
  accessType: AccessType;
  fsType: FsType;
  device: string;
  /** `major:minor` of the volume's device. */
  deviceNumber: string;
  /** What `blkid -p` found on the device. */
  contents: DeviceContents;
  /** Device numbers mounted at the staging path (empty when nothing is). */
  stagedDevices: string[];
  stagingPath: string;
}

/** none: already staged (or a block volume, which needs no staging); mount: the filesystem is there; format-and-mount: the device is empty. */
export type StageAction = 'none' | 'mount' | 'format-and-mount';

export function planStage(f: StageFacts): StageAction {
  const other = f.stagedDevices.find((d) => d !== f.deviceNumber);
  if (other) {
    throw alreadyExists(`staging path ${f.stagingPath} already has another device (${other}) mounted, not volume ${f.volumeId} (${f.device}, ${f.deviceNumber})`);
  }
  if (f.accessType === 'block') return 'none';
  if (f.contents.partitionTable) {
    throw failedPrecondition(`device ${f.device} of volume ${f.volumeId} holds a ${f.contents.partitionTable} partition table; Loam never formats over existing data`);
  }
  if (f.contents.fsType && f.contents.fsType !== f.fsType) {
    throw failedPrecondition(`device ${f.device} of volume ${f.volumeId} holds a ${f.contents.fsType} filesystem but ${f.fsType} was requested; Loam never formats over existing data`);
  }
  if (f.stagedDevices.length > 0) return 'none';
  return f.contents.fsType ? 'mount' : 'format-and-mount';
}

export interface PublishFacts {
  volumeId: string;
  accessType: AccessType;
  device: string;
  deviceNumber: string;
  /** Device numbers mounted at the staging path; only consulted for mount volumes. */
  stagedDevices: string[];
  stagingPath: string;
  /** Device numbers the target path currently shows (for block volumes: the device node bound there). */
  targetDevices: string[];
  targetPath: string;
  /** SINGLE_NODE_SINGLE_WRITER: the volume may be published at one target only. */
  singleWriter: boolean;
  /** Other mount points that show the volume's filesystem (besides the staging path and this target). */
  otherPublishes: string[];
}

/** none: already published; bind: bind-mount the staging path (mount) or the device node (block) onto the target. */
export type PublishAction = 'none' | 'bind';

export function planPublish(f: PublishFacts): PublishAction {
  const other = f.targetDevices.find((d) => d !== f.deviceNumber);
  if (other) {
    throw alreadyExists(`target path ${f.targetPath} already has another device (${other}) mounted, not volume ${f.volumeId} (${f.device})`);
  }
  if (f.targetDevices.length > 0) return 'none';
  if (f.singleWriter && f.otherPublishes.length > 0) {
    throw failedPrecondition(`volume ${f.volumeId} has access mode SINGLE_NODE_SINGLE_WRITER and is already published at ${f.otherPublishes.join(', ')}`);
  }
  if (f.accessType === 'mount' && !f.stagedDevices.includes(f.deviceNumber)) {
    throw failedPrecondition(`volume ${f.volumeId} is not staged at ${f.stagingPath}: call NodeStageVolume first`);
  }
  return 'bind';
}

/** Mount options of a publish: the capability's flags, plus `ro` when the CO asks for a read-only publish. */
export function publishOptions(mountFlags: readonly string[], readonly: boolean): string[] {
  const options = [...mountFlags];
  if (readonly && !options.includes('ro')) options.push('ro');
  return options;
}
