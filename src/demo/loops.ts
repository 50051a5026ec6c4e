/**
 * The demo's disks: loop devices over sparse files in the demo's own folder. SSD-like and
 * HDD-like by the loop's `queue/rotational` flag; one holds an ext4 filesystem (made on the
 * backing file before it is attached) to show that Loam never claims a disk with data. Every
 * device is detached on cleanup only if it still has the demo's file behind it, so nothing the
 * demo did not make is ever touched.
 */
import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface LoopSpec {
  /** File name in the demo folder, e.g. `ssd-1.img`. */
  name: string;
  sizeBytes: number;
  /** true: HDD-like; false: SSD-like. */
  rotational: boolean;
  /** Put an ext4 filesystem on it first. */
  ext4?: boolean;
}

export interface DemoLoop extends LoopSpec {
  file: string;
  /** `/dev/loopN`. */
  device: string;
}

export class DemoLoops {
  readonly loops: DemoLoop[] = [];

  constructor(private readonly dir: string) {}

  /** Makes the backing file, attaches it to a free loop device and sets its rotational flag. */
  async create(spec: LoopSpec): Promise<DemoLoop> {
    const file = path.join(this.dir, spec.name);
    await writeFile(file, '', { flag: 'wx' });
    await truncate(file, spec.sizeBytes);
    if (spec.ext4) await execa('mkfs.ext4', ['-q', '-F', file]);
    let device: string;
    try {
      device = (await execa('losetup', ['--find', '--show', file])).stdout.trim();
    } catch (err) {
      throw new Error(`losetup could not attach ${file} (is this root, with loop devices available?)`, { cause: err });
    }
    const loop = { ...spec, file, device };
    this.loops.push(loop);
    const sysfs = `/sys/block/${path.basename(device)}/queue/rotational`;
    await writeFile(sysfs, spec.rotational ? '1' : '0').catch((cause: unknown) => {
      throw new Error(`cannot set ${sysfs} (makes ${device} ${spec.rotational ? 'HDD' : 'SSD'}-like)`, { cause });
    });
    return loop;
  }

  /** Detaches every loop device this instance attached, if it still shows the demo's file; collects failures. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const loop of this.loops.splice(0).reverse()) {
      const backing = await readFile(`/sys/block/${path.basename(loop.device)}/loop/backing_file`, 'utf8').catch(() => '');
      if (backing.trim().replace(/ \(deleted\)$/, '') !== loop.file) {
        problems.push(`${loop.device} no longer shows ${loop.file}; left alone`);
        continue;
      }
      const r = await execa('losetup', ['-d', loop.device], { reject: false });
      if (r.exitCode !== 0) problems.push(`losetup -d ${loop.device}: ${r.stderr}`);
    }
    return problems;
  }
}
