/**
 * Shared parts of the loam-node integration tests: the real loam-node process, reads of the
 * node's LocalDisks through the API server, waiting, and checksums of backing files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { labels, loamResources, localDiskName, type LocalDisk, type LocalDiskNode } from '../../../src/api/index.js';
import { createKubeClients, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { controlPlane } from '../setup.js';
import type { LoopDevices } from '../udev/support/loop.js';

export function uniqueNodeName(prefix = 'ldm-it'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export function clients(): KubeClients {
  return createKubeClients(controlPlane().kubeConfig());
}

/** The LocalDisk name loam-node gives a loop device backed by `file`. */
export function loopDiskName(nodeName: string, file: string): string {
  return localDiskName(nodeName, `loop:${file}`);
}

/** A running loam-node; its log is kept for failure messages. */
export class NodeProcess {
  readonly child: ResultPromise;
  log = '';

  constructor(readonly nodeName: string, extraArgs: string[] = []) {
    this.child = execa('node', ['--import', 'tsx', 'src/cmd/loam-node.ts', '--node-name', nodeName, '--kubeconfig', controlPlane().kubeconfigPath,
      '--include-loop', '--local-storage', 'false', '--resync-seconds', '5', '--heartbeat-seconds', '2', '--log-level', 'debug', ...extraArgs], { reject: false, all: true });
    this.child.all?.on('data', (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-200_000);
    });
  }

  /** Sends a signal and waits for the exit; returns the exit code (or null when killed by signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null | undefined> {
    if (this.child.exitCode === null) this.child.kill(signal);
    const result = await this.child;
    return result.exitCode;
  }

  tail(lines = 30): string {
    return this.log.trim().split('\n').slice(-lines).join('\n');
  }
}

export async function getDisk(c: KubeClients, name: string): Promise<LocalDisk | undefined> {
  try {
    return await c.rest.request<LocalDisk>('GET', resourcePath(loamResources.localDisks, undefined, name));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function listDisks(c: KubeClients, nodeName: string): Promise<LocalDisk[]> {
  const list = await c.rest.request<{ items: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks), { query: { labelSelector: `${labels.node}=${nodeName}` } });
  return list.items;
}

export async function getDiskNode(c: KubeClients, nodeName: string): Promise<LocalDiskNode | undefined> {
  try {
    return await c.rest.request<LocalDiskNode>('GET', resourcePath(loamResources.localDiskNodes, undefined, nodeName));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** Deletes the node's LocalDisks and its LocalDiskNode. */
export async function deleteNodeObjects(c: KubeClients, nodeName: string): Promise<void> {
  for (const d of await listDisks(c, nodeName).catch(() => [])) {
    await c.rest.request('DELETE', resourcePath(loamResources.localDisks, undefined, d.metadata!.name!)).catch(() => undefined);
  }
  await c.rest.request('DELETE', resourcePath(loamResources.localDiskNodes, undefined, nodeName)).catch(() => undefined);
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}${describe ? `\n${describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for a LocalDisk to reach a state (and reason, when given). */
export function waitForState(c: KubeClients, name: string, state: string, timeoutMs: number, reason?: string, node?: NodeProcess): Promise<LocalDisk> {
  let seen = '';
  return waitUntil(`LocalDisk ${name} to be ${state}${reason ? ` (${reason})` : ''}`, async () => {
    const d = await getDisk(c, name);
    seen = `last seen: ${JSON.stringify(d?.status ?? 'no object')}`;
    return d?.status?.state === state && (reason === undefined || d.status.reason === reason) ? d : undefined;
  }, timeoutMs, () => `${seen}${node ? `\nloam-node log:\n${node.tail()}` : ''}`);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes 0 or 1 to a loop device's queue/rotational and sends it a `change` uevent (as udevadm trigger does). */
export async function setRotational(device: string, rotational: boolean): Promise<void> {
  const sysname = device.replace('/dev/', '');
  await writeFile(`/sys/block/${sysname}/queue/rotational`, rotational ? '1' : '0');
  await writeFile(`/sys/block/${sysname}/uevent`, 'change');
}

export async function run(cmd: string, args: string[]): Promise<void> {
  await execa(cmd, args, { env: { LC_ALL: 'C' } });
}

/**
 * Writes an md (Linux software RAID) v1.2 member superblock, 4 KiB into `file`, the way mdadm
 * --create would (this host's kernel has no md driver, so mdadm cannot). Layout of
 * mdp_superblock_1: magic, major_version 1, set uuid and name, level, raid_disks, data offset and
 * size, super_offset (in sectors), device uuid, max_dev, and sb_csum: the 32-bit little-endian
 * words of the superblock summed with the checksum field as zero, the carry folded in.
 */
export async function writeMdSuperblock(file: string): Promise<void> {
  const maxDev = 1;
  const sb = Buffer.alloc(256 + 2 * maxDev);
  sb.writeUInt32LE(0xa92b4efc, 0);
  sb.writeUInt32LE(1, 4);
  randomBytes(16).copy(sb, 16);
  sb.write('loamtest', 32, 'ascii');
  sb.writeUInt32LE(1, 72); // level: raid1
  sb.writeUInt32LE(2, 92); // raid_disks
  sb.writeBigUInt64LE(2048n, 128); // data_offset
  sb.writeBigUInt64LE(32768n, 136); // data_size
  sb.writeBigUInt64LE(8n, 144); // super_offset: 4096 / 512
  randomBytes(16).copy(sb, 168);
  sb.writeUInt32LE(maxDev, 220);
  let sum = 0n;
  for (let i = 0; i + 4 <= sb.length; i += 4) sum += BigInt(sb.readUInt32LE(i));
  sum = (sum & 0xffffffffn) + (sum >> 32n);
  sb.writeUInt32LE(Number(sum & 0xffffffffn), 216);
  const fh = await open(file, 'r+');
  try {
    await fh.write(sb, 0, sb.length, 4096);
  } finally {
    await fh.close();
  }
}

/**
 * Attaches `file` to a loop node made for it (LOOP_CTL_ADD), so cleanup() removes the node too and
 * the host is left with no extra /dev/loopN (losetup --find would leave the nodes it creates).
 */
export async function attachNew(loops: LoopDevices, file: string): Promise<string> {
  const device = `/dev/loop${loops.addNode()}`;
  await loops.attach(device, file);
  return device;
}
