/**
 * The CSI node service on the host: LocalVolumeReplica objects whose status names a device (as
 * anyone allowed to patch replica status could write it; the service must not trust it), and a
 * scratch area — the tests' kubelet directory — whose mounts are undone after a test, also after a failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { apiVersion, labels, loamResources, localVolumeReplicaName, type LocalVolumeReplica } from '../../../src/api/index.js';
import { patchStatus, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { readMounts } from '../../../src/csi/node-mount.js';

/** Creates the replica of `volumeId` on `nodeName` (pool loam-ssd) with `devicePath` written into its status. */
export async function createReplica(c: KubeClients, volumeId: string, nodeName: string, devicePath: string, capacityBytes: number): Promise<void> {
  const name = localVolumeReplicaName(volumeId, nodeName);
  const replica: LocalVolumeReplica = {
    apiVersion,
    kind: 'LocalVolumeReplica',
    metadata: { name, labels: { [labels.node]: nodeName, [labels.volume]: volumeId } },
    spec: { volumeName: volumeId, nodeName, poolName: 'loam-ssd', capacityBytes },
  };
  await c.rest.request('POST', resourcePath(loamResources.localVolumeReplicas), { body: replica });
  await patchStatus(c, loamResources.localVolumeReplicas, { name }, { state: 'Ready', devicePath, allocatedBytes: capacityBytes });
}

export async function deleteReplicas(c: KubeClients, nodeName: string): Promise<void> {
  await c.rest.request('DELETE', resourcePath(loamResources.localVolumeReplicas), { query: { labelSelector: `${labels.node}=${nodeName}` } }).catch(() => undefined);
}

export async function blkidType(device: string): Promise<string> {
  const r = await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], { reject: false });
  return r.stdout.trim();
}

export async function isMountPoint(p: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === p);
}

/** A private folder for staging and target paths; cleanup() unmounts whatever is still mounted under it, then removes it. */
export class Scratch {
  dir = '';

  async create(): Promise<string> {
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'loam-csi-node-'));
    return this.dir;
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  async cleanup(): Promise<void> {
    if (!this.dir) return;
    // Deepest first, so stacked and nested mounts come off in order.
    const under = (await readMounts()).filter((m) => m.mountPoint.startsWith(this.dir + '/')).map((m) => m.mountPoint).sort((a, b) => b.length - a.length);
    for (const p of under) await execa('umount', [p], { reject: false });
    const left = (await readMounts()).filter((m) => m.mountPoint.startsWith(this.dir + '/')).map((m) => m.mountPoint);
    // Never delete recursively through a mount: that would delete the volume's files.
    if (left.length > 0) throw new Error(`still mounted after cleanup, ${this.dir} left in place: ${left.join(', ')}`);
    await rm(this.dir, { recursive: true, force: true });
  }
}
