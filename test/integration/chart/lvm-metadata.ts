/**
 * An LV that exists in a VG's metadata only. This host's kernel has no device-mapper, so lvcreate
 * fails; vgcfgrestore writes metadata without activating anything, and lvs/lvremove work on such
 * an LV. The RBAC test uses it so loam-node's removal path (which re-reads the LocalVolume before
 * removing data) runs on the host.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const lvmEnv = { LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };

/** An LVM id: 32 characters of LVM's alphabet in its 6-4-4-4-4-4-6 grouping. */
function lvmId(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const raw = [...randomBytes(32)].map((b) => chars[b % chars.length]).join('');
  return [6, 4, 4, 4, 4, 4, 6].reduce<{ parts: string[]; at: number }>((acc, n) => ({ parts: [...acc.parts, raw.slice(acc.at, acc.at + n)], at: acc.at + n }), { parts: [], at: 0 }).parts.join('-');
}

/** Adds LV `name` (`extents` extents from the start of the VG's first PV, with `tags`) to the metadata of `vg`, which must hold no LV yet. */
export async function addLvToMetadata(dir: string, vg: string, name: string, extents: number, tags: string[]): Promise<void> {
  const file = path.join(dir, `${vg}.vgcfg`);
  await execa('lvm', ['vgcfgbackup', '-f', file, vg], { env: lvmEnv });
  const text = await readFile(file, 'utf8');
  if (text.includes('logical_volumes')) throw new Error(`VG ${vg} already holds LVs; this helper writes the first one only`);
  const lv = `logical_volumes {\n${name} {\nid = "${lvmId()}"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\n`
    + `tags = [${tags.map((t) => JSON.stringify(t)).join(', ')}]\ncreation_time = ${Math.floor(Date.now() / 1000)}\ncreation_host = "loam-test"\n`
    + `segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = ${extents}\ntype = "striped"\nstripe_count = 1\nstripes = ["pv0", 0]\n}\n}\n}\n`;
  // The VG's block is the last one of the file: the LV section goes just before its closing brace.
  const end = text.lastIndexOf('}');
  await writeFile(file, `${text.slice(0, end)}${lv}${text.slice(end)}`);
  await execa('lvm', ['vgcfgrestore', '-f', file, vg], { env: lvmEnv });
}
