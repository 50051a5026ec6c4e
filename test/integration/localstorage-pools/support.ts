/**
 * Host LVM for the pool tests: what `pvs`/`vgs` print (read with the LVM tools themselves, not
 * with Loam's door), the guard that no Loam VG exists on the host before a test, and the cleanup
 * that removes the VGs and PVs a test made, also after a failure.
 */
import { execa } from 'execa';
import { loamResources, type LocalStorageNode } from '../../../src/api/index.js';
import { isNotFound, resourcePath, type KubeClients } from '../../../src/kube/index.js';

const lvmEnv = { LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };
export const loamVgNames = ['loam-hdd', 'loam-ssd', 'loam-nvme'];

export interface PrintedVg {
  name: string;
  sizeBytes: number;
  freeBytes: number;
  tags: string[];
}

/** `vgs` as the tool prints it (one VG per line). */
export async function printedVgs(): Promise<PrintedVg[]> {
  const { stdout } = await execa('lvm', ['vgs', '--noheadings', '--separator', '|', '--units', 'b', '--nosuffix', '-o', 'vg_name,vg_size,vg_free,vg_tags'], { env: lvmEnv });
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => {
    const [name, size, free, tags] = l.split('|');
    return { name: name!, sizeBytes: Number(size), freeBytes: Number(free), tags: (tags ?? '').split(',').filter((t) => t !== '') };
  });
}

/** PV device → VG name ('' for none), as `pvs` prints it. */
export async function printedPvs(): Promise<Map<string, string>> {
  const { stdout } = await execa('lvm', ['pvs', '--noheadings', '--separator', '|', '-o', 'pv_name,vg_name'], { env: lvmEnv });
  return new Map(stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => {
    const [pv, vg] = l.split('|');
    return [pv!, vg ?? ''];
  }));
}

/** Fails clearly when a Loam VG already exists on this host: the test would otherwise change it. */
export async function assertNoLoamVgs(): Promise<void> {
  const found = (await printedVgs()).filter((v) => loamVgNames.includes(v.name)).map((v) => v.name);
  if (found.length > 0) {
    throw new Error(`volume group(s) ${found.join(', ')} already exist on this host; this test creates and removes the Loam VGs and will not touch existing ones. Remove them (vgremove) if they are leftovers of a test run, then run again`);
  }
}

/** Removes the Loam VGs and the PVs on `devices` (best effort, every step tried). */
export async function removeLoamLvm(devices: string[]): Promise<void> {
  for (const vg of loamVgNames) await execa('lvm', ['vgremove', '--yes', '--force', vg], { reject: false, env: lvmEnv });
  for (const d of devices) await execa('lvm', ['pvremove', '--yes', '--force', d], { reject: false, env: lvmEnv });
}

export async function pvcreate(device: string): Promise<void> {
  await execa('lvm', ['pvcreate', '--yes', device], { env: lvmEnv });
}

export async function getStorageNode(c: KubeClients, nodeName: string): Promise<LocalStorageNode | undefined> {
  try {
    return await c.rest.request<LocalStorageNode>('GET', resourcePath(loamResources.localStorageNodes, undefined, nodeName));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function deleteStorageNode(c: KubeClients, nodeName: string): Promise<void> {
  await c.rest.request('DELETE', resourcePath(loamResources.localStorageNodes, undefined, nodeName)).catch(() => undefined);
}
