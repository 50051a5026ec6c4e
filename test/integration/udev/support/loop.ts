/**
 * Real loop devices for the udev tests and benchmark: sparse backing files, loop nodes added and
 * removed through /dev/loop-control (the native loam_loop_control addon), files attached and
 * detached with losetup. A LoopDevices instance remembers everything it made and undoes it all in
 * cleanup(), also after a failed test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadNativeAddon } from '../../../../src/ldm/udev-native.js';

interface LoopControlAddon {
  loopControl(request: 'add' | 'remove' | 'get-free', index?: number): number;
}

/** LOOP_CTL_ADD / LOOP_CTL_REMOVE / LOOP_CTL_GET_FREE on /dev/loop-control. */
export function loopControl(request: 'add' | 'remove' | 'get-free', index?: number): number {
  return loadNativeAddon<LoopControlAddon>('loam_loop_control').loopControl(request, index);
}

export function loopNodeExists(index: number): boolean {
  return existsSync(`/sys/devices/virtual/block/loop${index}`);
}

/** "major:minor" of a block device from sysfs, as numbers. */
export function devNumbers(sysname: string): { major: number; minor: number } {
  const [major, minor] = readFileSync(`/sys/class/block/${sysname}/dev`, 'utf8').trim().split(':').map(Number);
  return { major: major ?? NaN, minor: minor ?? NaN };
}

export class LoopDevices {
  readonly #nodes = new Set<number>();
  readonly #attached = new Set<string>();
  #dir: string | undefined;

  /** A sparse file of the given size in a private temporary folder. */
  async sparseFile(sizeBytes: number, name = `disk-${Date.now()}.img`): Promise<string> {
    this.#dir ??= await mkdtemp(path.join(os.tmpdir(), 'loam-udev-'));
    const file = path.join(this.#dir, name);
    await writeFile(file, '');
    await truncate(file, sizeBytes);
    return file;
  }

  /** Creates loop node /dev/loopN for an unused N >= from (skipping numbers in use) and returns N. */
  addNode(from = 200): number {
    for (let index = from; index < from + 1000; index++) {
      if (loopNodeExists(index)) continue;
      try {
        loopControl('add', index);
      } catch (error) {
        if ((error as { code?: string }).code === 'EEXIST') continue; // taken meanwhile by someone else
        throw error;
      }
      this.#nodes.add(index);
      return index;
    }
    throw new Error(`no unused loop number in ${from}..${from + 999}`);
  }

  removeNode(index: number): void {
    loopControl('remove', index);
    this.#nodes.delete(index);
  }

  /** losetup <device> <file>. */
  async attach(device: string, file: string): Promise<void> {
    this.#attached.add(device);
    await execa('losetup', [device, file]);
  }

  /** losetup --find --show <file>: attaches to the first free loop device and returns its path. */
  async attachAnywhere(file: string): Promise<string> {
    const { stdout } = await execa('losetup', ['--find', '--show', file]);
    const device = stdout.trim();
    this.#attached.add(device);
    return device;
  }

  /** losetup -d <device>. */
  async detach(device: string): Promise<void> {
    await execa('losetup', ['-d', device]);
    this.#attached.delete(device);
  }

  /** Detaches, removes and deletes whatever this instance made; collects failures instead of stopping at the first. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    for (const device of this.#attached) {
      const result = await execa('losetup', ['-d', device], { reject: false });
      // "No such device or address" means it is detached already.
      if (result.exitCode !== 0 && !/No such device/.test(result.stderr)) failures.push(new Error(result.stderr));
    }
    this.#attached.clear();
    for (const index of this.#nodes) {
      try {
        if (loopNodeExists(index)) loopControl('remove', index);
      } catch (error) {
        failures.push(error);
      }
    }
    this.#nodes.clear();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
    if (failures.length > 0) throw new AggregateError(failures, 'loop device cleanup failed');
  }
}
