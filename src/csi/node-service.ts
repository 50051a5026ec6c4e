/**
 * The CSI Node service of lvm.loam.io, run by loam-node. It finds a volume's device through the
 * node's LocalVolumeReplicas (node-volumes.ts), decides with node-plan.ts and acts with mount/mkfs
 * (node-mount.ts, node-fs.ts). Every call is idempotent: it first looks at what is already mounted
 * and what the device holds, so a repeated or retried call after a crash finishes the job or
 * answers success. Calls on one volume run one at a time; a second one meanwhile gets ABORTED
 * (the CO retries), as the spec suggests.
 */
import { lstat, mkdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { componentLogger, type Logger } from '../common/logger.js';
import { sleep, type KubeClients, type SharedInformers } from '../kube/index.js';
import { Lvm } from '../localstorage/lvm.js';
import { CsiError, failedPrecondition, notFound, unavailable } from './errors.js';
import type { NodeExpandVolumeRequest } from './generated/csi/v1/NodeExpandVolumeRequest.js';
import type { NodeExpandVolumeResponse } from './generated/csi/v1/NodeExpandVolumeResponse.js';
import type { NodeGetCapabilitiesResponse } from './generated/csi/v1/NodeGetCapabilitiesResponse.js';
import type { NodeGetInfoResponse } from './generated/csi/v1/NodeGetInfoResponse.js';
import type { NodeGetVolumeStatsRequest } from './generated/csi/v1/NodeGetVolumeStatsRequest.js';
import type { NodeGetVolumeStatsResponse } from './generated/csi/v1/NodeGetVolumeStatsResponse.js';
import type { NodePublishVolumeRequest } from './generated/csi/v1/NodePublishVolumeRequest.js';
import type { NodeStageVolumeRequest } from './generated/csi/v1/NodeStageVolumeRequest.js';
import type { NodeUnpublishVolumeRequest } from './generated/csi/v1/NodeUnpublishVolumeRequest.js';
import type { NodeUnstageVolumeRequest } from './generated/csi/v1/NodeUnstageVolumeRequest.js';
import type { CallContext } from './interceptor.js';
import { VolumeLocks } from './locks.js';
import { deviceSizeBytes, growFilesystem, makeFilesystem, probeDevice } from './node-fs.js';
import { bindMountArgs, deviceNumberOf, mountArgs, mountsAt, readMounts, remountBindArgs, runMount, statOrUndefined, trimSlash, unmountAll, type MountEntry } from './node-mount.js';
import { planPublish, planStage, publishOptions } from './node-plan.js';
import { confinedPath, defaultKubeletDir } from './node-paths.js';
import { accessTypeOf, fsTypeOf, mountFlagsOf, type AccessType } from './node-requests.js';
import { blockUsage, filesystemUsage, volumeCondition } from './node-stats.js';
import { ReplicaDevices, type LookupOptions } from './node-volumes.js';
import { int64ToNumber, requireFields, supportedFsTypes, topologyOf, type FsType } from './validate.js';

/** The node capabilities Loam advertises; test/sanity/README.md lists what csi-sanity skips for the others. */
export const nodeCapabilities = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER'] as const;

export interface NodeServiceOptions {
  nodeName: string;
  clients: KubeClients;
  lvm?: Pick<Lvm, 'findLv'>;
  logger?: Logger;
  /** How long NodeExpand waits for the LV to reach the requested size (default 60 s). */
  expandWaitMs?: number;
  /**
   * The kubelet's root directory (`--kubelet-dir`, default /var/lib/kubelet): every staging and
   * target path must lie inside it (node-paths.ts).
   */
  kubeletDir?: string;
  /** Longest wait of a call for the replica cache's first fill, within its deadline (default 60 s). */
  syncWaitMs?: number;
  /** The process's shared informers (loam-node's replica reconciler watches the same replicas). */
  informers?: SharedInformers;
}

/** What a method uses of the call: its AbortSignal and deadline (direct callers, e.g. tests, may leave them out). */
export type NodeCallContext = Partial<Pick<CallContext, 'signal' | 'deadline'>>;
type Empty = Record<string, never>;

/** The Node service as the CSI server serves it (`AsyncService<NodeHandlers>`), plus its lifecycle. */
export interface CsiNodeService {
  start(): Promise<void>;
  stop(): Promise<void>;
  NodeStageVolume(req: NodeStageVolumeRequest, ctx?: NodeCallContext): Promise<Empty>;
  NodeUnstageVolume(req: NodeUnstageVolumeRequest, ctx?: NodeCallContext): Promise<Empty>;
  NodePublishVolume(req: NodePublishVolumeRequest, ctx?: NodeCallContext): Promise<Empty>;
  NodeUnpublishVolume(req: NodeUnpublishVolumeRequest, ctx?: NodeCallContext): Promise<Empty>;
  NodeGetVolumeStats(req: NodeGetVolumeStatsRequest, ctx?: NodeCallContext): Promise<NodeGetVolumeStatsResponse>;
  NodeExpandVolume(req: NodeExpandVolumeRequest, ctx?: NodeCallContext): Promise<NodeExpandVolumeResponse>;
  NodeGetCapabilities(): Promise<NodeGetCapabilitiesResponse>;
  NodeGetInfo(): Promise<NodeGetInfoResponse>;
}

export function createNodeService(opts: NodeServiceOptions): CsiNodeService {
  return new LoamNodeService(opts);
}

class LoamNodeService implements CsiNodeService {
  private readonly log: Logger;
  private readonly devices: ReplicaDevices;
  private readonly lvm: Pick<Lvm, 'findLv'>;
  private readonly locks = new VolumeLocks();
  private readonly expandWaitMs: number;
  private readonly kubeletDir: string;

  constructor(private readonly opts: NodeServiceOptions) {
    this.log = opts.logger ?? componentLogger('csi-node');
    // Without the Local Storage agent's door (its pool disks) LVM is shown no device: no LV is Loam's here.
    this.lvm = opts.lvm ?? new Lvm({ logger: this.log, devices: async () => [] });
    this.devices = new ReplicaDevices(opts.clients, opts.nodeName, this.log, opts.syncWaitMs, opts.informers);
    this.expandWaitMs = opts.expandWaitMs ?? 60_000;
    this.kubeletDir = opts.kubeletDir ?? defaultKubeletDir;
  }

  /** Starts the replica cache and returns at once: unstage and unpublish need no API server, and must work during its outage. */
  async start(): Promise<void> {
    await this.devices.start();
  }

  async stop(): Promise<void> {
    await this.devices.stop();
  }

  async NodeGetInfo(): Promise<NodeGetInfoResponse> {
    // 0: no limit of our own on volumes per node; LVs are bounded by the pool's free space.
    return { node_id: this.opts.nodeName, max_volumes_per_node: 0, accessible_topology: topologyOf(this.opts.nodeName) };
  }

  async NodeGetCapabilities(): Promise<NodeGetCapabilitiesResponse> {
    return { capabilities: nodeCapabilities.map((type) => ({ rpc: { type } })) };
  }

  async NodeStageVolume(req: NodeStageVolumeRequest, ctx: NodeCallContext = {}): Promise<Empty> {
    const signal = ctx.signal;
    const rpc = 'NodeStageVolume';
    requireFields(rpc, req, ['volume_id', 'staging_target_path', 'volume_capability']);
    const volumeId = req.volume_id!;
    const cap = req.volume_capability!;
    const accessType = accessTypeOf(rpc, cap);
    const fsType = accessType === 'mount' ? fsTypeOf(rpc, cap, req.volume_context) : 'ext4';
    const flags = mountFlagsOf(rpc, cap);
    const stagingPath = await this.confined(rpc, 'staging_target_path', req.staging_target_path!);
    return this.locked(rpc, volumeId, async () => {
      const { device, deviceNumber } = await this.presentDevice(volumeId, ctx);
      const stagedDevices = mountsAt(await readMounts(), stagingPath).map((m) => m.dev);
      const contents = accessType === 'mount' ? await probeDevice(device) : {};
      const action = planStage({ volumeId, accessType, fsType, device, deviceNumber, contents, stagedDevices, stagingPath });
      if (action === 'none') return {};
      if (action === 'format-and-mount') {
        this.log.info('formatting empty volume device', { volumeId, device, fsType });
        await makeFilesystem(fsType, device, signal);
      }
      await mkdir(stagingPath, { recursive: true });
      await runMount(mountArgs(fsType, device, stagingPath, flags), signal);
      this.log.info('volume staged', { volumeId, device, stagingPath, fsType, formatted: action === 'format-and-mount' });
      return {};
    });
  }

  async NodeUnstageVolume(req: NodeUnstageVolumeRequest, ctx: NodeCallContext = {}): Promise<Empty> {
    const signal = ctx.signal;
    const rpc = 'NodeUnstageVolume';
    requireFields(rpc, req, ['volume_id', 'staging_target_path']);
    const volumeId = req.volume_id!;
    const stagingPath = await this.confined(rpc, 'staging_target_path', req.staging_target_path!);
    // No API server and no LVM here: the mount table alone says what to undo, so a pod can end during an API outage.
    return this.locked(rpc, volumeId, async () => {
      // The staging directory is the CO's: only what we mounted there goes.
      if (await unmountAll(stagingPath, signal)) this.log.info('volume unstaged', { volumeId, stagingPath });
      return {};
    });
  }

  async NodePublishVolume(req: NodePublishVolumeRequest, ctx: NodeCallContext = {}): Promise<Empty> {
    const signal = ctx.signal;
    const rpc = 'NodePublishVolume';
    requireFields(rpc, req, ['volume_id', 'target_path', 'volume_capability', 'staging_target_path']);
    const volumeId = req.volume_id!;
    const cap = req.volume_capability!;
    const accessType = accessTypeOf(rpc, cap);
    const flags = mountFlagsOf(rpc, cap);
    const targetPath = await this.confined(rpc, 'target_path', req.target_path!);
    const stagingPath = await this.confined(rpc, 'staging_target_path', req.staging_target_path!);
    return this.locked(rpc, volumeId, async () => {
      const { device, deviceNumber } = await this.presentDevice(volumeId, ctx);
      const mounts = await readMounts();
      const stagedDevices = mountsAt(mounts, stagingPath).map((m) => m.dev);
      const targetDevices = await devicesAt(mounts, targetPath, accessType);
      // The other places the filesystem shows (for the single-writer check); a block device's binds show devtmpfs, so only mount volumes are checked.
      const otherPublishes = accessType === 'mount' ? mounts.filter((m) => m.dev === deviceNumber && m.mountPoint !== trimSlash(stagingPath) && m.mountPoint !== trimSlash(targetPath)).map((m) => m.mountPoint) : [];
      const singleWriter = cap.access_mode?.mode === 'SINGLE_NODE_SINGLE_WRITER' || cap.access_mode?.mode === 6;
      const action = planPublish({ volumeId, accessType, device, deviceNumber, stagedDevices, stagingPath, targetDevices, targetPath, singleWriter, otherPublishes });
      if (action === 'none') return {};
      const readonly = req.readonly === true;
      const created = await createTarget(targetPath, accessType);
      try {
        const options = publishOptions(flags, readonly);
        await runMount(bindMountArgs(accessType === 'mount' ? stagingPath : device, targetPath, []), signal);
        if (options.length > 0) await runMount(remountBindArgs(targetPath, options), signal);
      } catch (err) {
        await unmountAll(targetPath).catch(() => undefined);
        if (created) await removeTarget(targetPath, this.log).catch(() => undefined);
        throw err;
      }
      this.log.info('volume published', { volumeId, targetPath, accessType, readonly });
      return {};
    });
  }

  async NodeUnpublishVolume(req: NodeUnpublishVolumeRequest, ctx: NodeCallContext = {}): Promise<Empty> {
    const signal = ctx.signal;
    const rpc = 'NodeUnpublishVolume';
    requireFields(rpc, req, ['volume_id', 'target_path']);
    const volumeId = req.volume_id!;
    const targetPath = await this.confined(rpc, 'target_path', req.target_path!);
    // Like unstage: the mount table and the target alone, no API server.
    return this.locked(rpc, volumeId, async () => {
      const unmounted = await unmountAll(targetPath, signal);
      // The spec: the SP deletes the file or directory it made at the target path, and only that.
      const removed = await removeTarget(targetPath, this.log);
      if (unmounted || removed) this.log.info('volume unpublished', { volumeId, targetPath });
      return {};
    });
  }

  async NodeGetVolumeStats(req: NodeGetVolumeStatsRequest, ctx: NodeCallContext = {}): Promise<NodeGetVolumeStatsResponse> {
    const signal = ctx.signal;
    const rpc = 'NodeGetVolumeStats';
    requireFields(rpc, req, ['volume_id', 'volume_path']);
    const volumeId = req.volume_id!;
    const { devicePath } = await this.devices.deviceOf(volumeId, lookup(ctx));
    const volumePath = await this.volumePath(rpc, volumeId, req.volume_path!);
    const at = await this.volumeAt(volumeId, devicePath, volumePath);
    const usage = at.accessType === 'block' ? blockUsage(await deviceSizeBytes(at.deviceNumber)) : await filesystemUsage(volumePath);
    const volume_condition = await volumeCondition(this.lvm, devicePath, at.devicePresent, signal);
    return { usage, volume_condition };
  }

  async NodeExpandVolume(req: NodeExpandVolumeRequest, ctx: NodeCallContext = {}): Promise<NodeExpandVolumeResponse> {
    const signal = ctx.signal;
    const rpc = 'NodeExpandVolume';
    requireFields(rpc, req, ['volume_id', 'volume_path']);
    const volumeId = req.volume_id!;
    if (req.volume_capability) accessTypeOf(rpc, req.volume_capability);
    return this.locked(rpc, volumeId, async () => {
      const { devicePath } = await this.devices.verifiedDeviceOf(volumeId, this.lvm, lookup(ctx));
      const volumePath = await this.volumePath(rpc, volumeId, req.volume_path!);
      const at = await this.volumeAt(volumeId, devicePath, volumePath);
      if (!at.devicePresent) throw unavailable(`device ${devicePath} of volume ${volumeId} is missing on node ${this.opts.nodeName}`);
      const required = int64ToNumber(req.capacity_range?.required_bytes);
      const deviceBytes = await this.grownDevice(volumeId, at.deviceNumber, required, signal);
      if (at.accessType === 'block') return { capacity_bytes: deviceBytes };
      const fsType = await this.filesystemOf(volumeId, devicePath);
      await growFilesystem(fsType, devicePath, volumePath, signal);
      this.log.info('filesystem grown', { volumeId, volumePath, fsType, deviceBytes });
      return { capacity_bytes: deviceBytes };
    });
  }

  /**
   * The device's size once it holds `required` bytes. ControllerExpand may answer before the node
   * agent's lvextend is done, so this waits for it a little (polling sysfs) before UNAVAILABLE, on
   * which the CO retries.
   */
  private async grownDevice(volumeId: string, deviceNumber: string, required: number, signal?: AbortSignal): Promise<number> {
    const deadline = Date.now() + this.expandWaitMs;
    for (;;) {
      const deviceBytes = await deviceSizeBytes(deviceNumber);
      if (deviceBytes >= required) return deviceBytes;
      if (Date.now() >= deadline) {
        throw unavailable(`the LV of volume ${volumeId} is ${deviceBytes} bytes, less than the ${required} requested: the node agent has not grown it yet`);
      }
      await sleep(250, signal);
    }
  }

  /** A staging or target path confined to the kubelet directory (node-paths.ts), as the real path to act on. */
  private confined(rpc: string, field: string, value: string): Promise<string> {
    return confinedPath(rpc, field, value, this.kubeletDir);
  }

  /**
   * The volume_path of a stats or expand call. One outside the kubelet directory cannot be where
   * the CO staged or published the volume, so it is NOT_FOUND like any path that does not hold it.
   */
  private async volumePath(rpc: string, volumeId: string, value: string): Promise<string> {
    try {
      return await this.confined(rpc, 'volume_path', value);
    } catch (err) {
      if (err instanceof CsiError) throw notFound(`${err.details}: volume ${volumeId} is not there`);
      throw err;
    }
  }

  /** The volume's verified device node and its number; UNAVAILABLE when the LV is not there or not active. */
  private async presentDevice(volumeId: string, ctx: NodeCallContext): Promise<{ device: string; deviceNumber: string }> {
    const { devicePath } = await this.devices.verifiedDeviceOf(volumeId, this.lvm, lookup(ctx));
    const st = await statOrUndefined(devicePath);
    if (!st) throw unavailable(`device ${devicePath} of volume ${volumeId} does not exist on node ${this.opts.nodeName} (is the LV active?)`);
    return { device: devicePath, deviceNumber: await deviceNumberOf(devicePath) };
  }

  /**
   * How the volume shows at `volumePath` (a staging or publish path): a filesystem mounted from its
   * device, or its device node bound onto a file. NOT_FOUND when the path is missing or holds
   * something else.
   */
  private async volumeAt(volumeId: string, devicePath: string, volumePath: string): Promise<{ accessType: AccessType; deviceNumber: string; devicePresent: boolean }> {
    const st = await statOrUndefined(volumePath);
    if (!st) throw notFound(`volume path ${volumePath} does not exist`);
    const deviceNumber = await deviceNumberOf(devicePath).catch(() => undefined);
    const accessType: AccessType = st.isBlockDevice() ? 'block' : 'mount';
    const shown = await devicesAt(await readMounts(), volumePath, accessType);
    // With the device node gone (LV deactivated) the mount still shows the old number: report it, abnormal.
    const ours = deviceNumber ? shown.includes(deviceNumber) : shown.length > 0;
    if (!ours) throw notFound(`volume ${volumeId} is not mounted at ${volumePath}`);
    return { accessType, deviceNumber: deviceNumber ?? shown[0]!, devicePresent: deviceNumber !== undefined };
  }

  private async filesystemOf(volumeId: string, devicePath: string): Promise<FsType> {
    const found = (await probeDevice(devicePath)).fsType;
    if (!found || !(supportedFsTypes as readonly string[]).includes(found)) {
      throw failedPrecondition(`device ${devicePath} of volume ${volumeId} holds ${found ?? 'no filesystem'}; Loam grows only ${supportedFsTypes.join(' and ')}`);
    }
    return found as FsType;
  }

  /** Runs `work` holding the volume's lock: a second call on the volume meanwhile gets ABORTED and the CO retries. */
  private async locked<T>(rpc: string, volumeId: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(volumeId, async () => {
      try {
        return await work();
      } catch (err) {
        this.log.debug(`${rpc} did not complete`, { volumeId, error: (err as Error).message });
        throw err;
      }
    });
  }
}

/**
 * Device numbers a path shows: for a filesystem, the devices mounted there (mountinfo); for a
 * block volume, the device node bound onto the target file (its rdev, since mountinfo names devtmpfs).
 */
async function devicesAt(mounts: readonly MountEntry[], path: string, accessType: AccessType): Promise<string[]> {
  const here = mountsAt(mounts, path);
  if (here.length === 0) return [];
  if (accessType === 'mount') return here.map((m) => m.dev);
  const number = await deviceNumberOf(path).catch(() => undefined);
  return [number ?? `not a block device (${here[0]!.dev})`];
}

/** Makes the publish target: a directory for a filesystem, an empty file for a device node to be bound onto. True when it made it. */
async function createTarget(targetPath: string, accessType: AccessType): Promise<boolean> {
  if (await statOrUndefined(targetPath)) return false;
  if (accessType === 'mount') {
    await mkdir(targetPath, { recursive: true });
  } else {
    await mkdir(dirname(targetPath), { recursive: true });
    await writeFile(targetPath, '', { flag: 'a' });
  }
  return true;
}

/**
 * Removes an unmounted target, only in the shapes Loam makes it: an empty directory (mount), an
 * empty regular file (block; the device node was bound onto it). Anything else there — a file with
 * bytes, a directory with entries, a device node, a link — is not Loam's and stays; kubelet
 * reports what it finds. False when nothing was removed.
 */
async function removeTarget(targetPath: string, log: Logger): Promise<boolean> {
  let st;
  try {
    st = await lstat(targetPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    if (st.isDirectory()) await rmdir(targetPath);
    else if (st.isFile() && st.size === 0) await unlink(targetPath);
    else {
      log.warn('left the target path in place: it is not a target Loam made', { targetPath, mode: st.mode.toString(8), size: st.size });
      return false;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
    log.warn('left the target directory in place: it is not empty, so not only what Loam made', { targetPath });
    return false;
  }
  return true;
}

/** The lookup options of a call: its signal and deadline. */
function lookup(ctx: NodeCallContext): LookupOptions {
  return { signal: ctx.signal, deadline: ctx.deadline };
}

