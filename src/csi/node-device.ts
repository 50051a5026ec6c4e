/**
 * Which device the node service may format, mount and expose for a volume. Never
 * `status.devicePath`: whoever may patch localvolumereplicas/status could point it at /dev/sda and
 * have that disk bind-mounted into a pod. The device is derived from the replica's spec —
 * `/dev/<VG of spec.poolName>/<spec.volumeName>`, where the VG must be one of Loam's and the LV name
 * a volume id — and is used only when LVM reports that LV tagged `loam.io` and
 * `loam.io/replica-uid=<this replica's metadata.uid>` (the tag the node agent gave it at lvcreate),
 * so an LV left by an earlier volume of the same name, or made by anyone else, is never exposed.
 * Pure: facts in, the device or the gRPC error out.
 */
import type { LocalVolumeReplica } from '../api/index.js';
import { classOfVgName, loamTag, replicaUidOf, vgNameOfClass, type LvReport } from '../localstorage/lvm.js';
import { mediaClasses } from '../api/index.js';
import { failedPrecondition, unavailable, type CsiError } from './errors.js';
import { isPossibleVolumeId } from './controller-requests.js';

export interface ReplicaLv {
  vgName: string;
  lvName: string;
  /** `/dev/<vg>/<lv>`, the node LVM makes for an active LV. */
  devicePath: string;
}

/**
 * Whether the replica's LV may be staged and published: it is not being deleted, or it is held — deleted
 * by hand while its volume still uses it, so its node agent keeps the LV and reports it Ready (the agent
 * writes Deleting before it removes an LV, and removes one only once its volume is going away).
 * Holding the data but refusing to mount it would keep a restarted pod from its own volume.
 */
export function servesMounts(replica: LocalVolumeReplica): boolean {
  return !replica.metadata.deletionTimestamp || replica.status?.state === 'Ready';
}

/** The LV the replica's spec names, or FAILED_PRECONDITION when the spec names anything but a Loam LV of this volume on this node. */
export function replicaLvOf(replica: LocalVolumeReplica, volumeId: string, nodeName: string): ReplicaLv {
  const { poolName, volumeName, nodeName: specNode } = replica.spec;
  const name = replica.metadata.name;
  if (specNode !== nodeName) throw failedPrecondition(`replica ${name} of volume ${volumeId} belongs to node ${specNode}, not ${nodeName}`);
  if (!classOfVgName(poolName)) {
    const vgs = mediaClasses.map(vgNameOfClass).join(', ');
    throw failedPrecondition(`replica ${name}: spec.poolName ${JSON.stringify(poolName)} is not one of Loam's volume groups (${vgs}); Loam does not expose it`);
  }
  if (!isPossibleVolumeId(volumeName)) throw failedPrecondition(`replica ${name}: spec.volumeName ${JSON.stringify(volumeName)} is not a name Loam gives an LV; Loam does not expose it`);
  if (volumeName !== volumeId) throw failedPrecondition(`replica ${name}: spec.volumeName ${JSON.stringify(volumeName)} is not volume ${volumeId}`);
  return { vgName: poolName, lvName: volumeName, devicePath: `/dev/${poolName}/${volumeName}` };
}

/**
 * Why the LV LVM reported (undefined: none) must not be used for the replica, or undefined when it
 * may: missing or inactive is UNAVAILABLE (the node agent may be making or activating it; the CO
 * retries), a foreign or another replica's LV is FAILED_PRECONDITION.
 */
export function lvRefusal(lv: LvReport | undefined, replica: LocalVolumeReplica, want: ReplicaLv): CsiError | undefined {
  const lvId = `${want.vgName}/${want.lvName}`;
  const volume = replica.spec.volumeName;
  if (!lv) return unavailable(`LV ${lvId} of volume ${volume} does not exist on this node yet (replica ${replica.metadata.name} is ${replica.status?.state ?? 'Creating'})`);
  if (!lv.tags.includes(loamTag)) return failedPrecondition(`LV ${lvId} has no ${loamTag} tag: Loam did not make it and does not expose it`);
  const owner = replicaUidOf(lv);
  if (owner !== replica.metadata.uid) {
    return failedPrecondition(`LV ${lvId} was made for replica ${owner ?? '(no replica-uid tag)'}, not for ${replica.metadata.name} (${replica.metadata.uid}); Loam does not expose it`);
  }
  if (!lv.active) return unavailable(`LV ${lvId} of volume ${volume} is not active`);
  return undefined;
}
