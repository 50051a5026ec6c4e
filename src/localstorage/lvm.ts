/**
 * The one door to LVM: every LVM command Loam runs goes through this module. Commands are the
 * `lvm` binary with an argument array (never a shell string), `LC_ALL=C` so messages are stable,
 * reports as JSON in bytes, and failures as `LvmError` carrying the exit code and LVM's own line.
 * Aborting the signal kills the child.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { volumeGroupNames, type MediaClass } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';

/** Every VG and LV Loam makes carries this tag; Loam never changes an LV without it. */
export const loamTag = 'loam.io';

/**
 * Prefix of the tag that names the LocalVolumeReplica an LV was made for (`loam.io/replica-uid=<uid>`):
 * an LV is adopted, grown, exposed or removed only by the replica whose metadata.uid it carries, so a
 * volume re-created under an old name never inherits the old tenant's data.
 */
export const replicaUidTagPrefix = 'loam.io/replica-uid=';

/** The tag recording that the replica with this metadata.uid made an LV. */
export function replicaUidTag(uid: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(uid)) throw new Error(`replicaUidTag: "${uid}" is not a Kubernetes UID`);
  return `${replicaUidTagPrefix}${uid}`;
}

/** The metadata.uid of the replica an LV was made for, from its tags; undefined for an LV of before the tag (or not Loam's). */
export function replicaUidOf(lv: { tags: readonly string[] }): string | undefined {
  return lv.tags.find((t) => t.startsWith(replicaUidTagPrefix))?.slice(replicaUidTagPrefix.length);
}

// The API's list (which the CRD's poolName rule also uses), by class.
const [hdd, ssd, nvme] = volumeGroupNames;
const vgOfClass: Record<MediaClass, string> = { HDD: hdd, SSD: ssd, NVMe: nvme };

/** The only VG names the door runs a command on (names come from custom resources, so they are checked here too). */
export const loamVgNames: readonly string[] = volumeGroupNames;

/**
 * An LV name the door accepts: what Loam makes (CSI volume ids, `pvc-<uid>`) within LVM's own rules.
 * Lower-case letters, digits, `.` and `-`, starting with a letter or digit (a leading `-` would be
 * read as an option), at most 127 characters, none of LVM's reserved names.
 */
const safeLvName = /^[a-z0-9][a-z0-9.-]{0,126}$/;

/** Why `vgName`/`lvName` are refused by the door, or undefined when they are acceptable. */
export function unsafeLvmName(vgName: string, lvName?: string): string | undefined {
  if (!loamVgNames.includes(vgName)) return `volume group "${vgName}" is not one of Loam's (${loamVgNames.join(', ')}); Loam runs no LVM command on it`;
  if (lvName === undefined) return undefined;
  if (!safeLvName.test(lvName)) return `logical volume name "${lvName}" is not safe: use lower-case letters, digits, '.' and '-', starting with a letter or digit, at most 127 characters`;
  if (/^(snapshot|pvmove)/.test(lvName)) return `logical volume name "${lvName}" is reserved by LVM (it starts with snapshot or pvmove)`;
  return undefined;
}

/** Throws an LvmError (before any command runs) when the names are not safe; see `unsafeLvmName`. */
function checkNames(op: string, vgName: string, lvName?: string): void {
  const why = unsafeLvmName(vgName, lvName);
  if (why) throw new LvmError([op], undefined, '', `refusing to run ${op}: ${why}`);
}

/** A device handed to pvcreate/vgcreate/vgextend: an absolute /dev path (never something LVM could read as an option). */
function checkDevice(op: string, device: string): void {
  if (!/^\/dev\/[A-Za-z0-9._:/+@-]+$/.test(device) || device.includes('..')) throw new LvmError([op], undefined, '', `refusing to run ${op}: "${device}" is not a device path under /dev`);
}

/** A PV UUID in LVM's format (32 letters and digits as 6-4-4-4-4-4-6), chosen by Loam before pvcreate. */
export function newPvUuid(random: (n: number) => Buffer = randomBytes): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const chars = [...random(32)].map((b) => alphabet[b % alphabet.length]).join('');
  return [6, 4, 4, 4, 4, 4, 6].reduce<{ parts: string[]; at: number }>((acc, n) => ({ parts: [...acc.parts, chars.slice(acc.at, acc.at + n)], at: acc.at + n }), { parts: [], at: 0 }).parts.join('-');
}

/** True for a string in LVM's PV UUID format. */
export function isPvUuid(uuid: string): boolean {
  return /^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$/.test(uuid);
}

export function vgNameOfClass(mediaClass: MediaClass): string {
  return vgOfClass[mediaClass];
}

export function classOfVgName(vgName: string): MediaClass | undefined {
  return (Object.keys(vgOfClass) as MediaClass[]).find((c) => vgOfClass[c] === vgName);
}

export interface LvmCallOptions {
  signal?: AbortSignal;
  /** Default 120 s: an LVM command waiting on a lock should not hang a reconcile forever. */
  timeoutMs?: number;
}

/** `missing` (set only when true): the VG records this PV but its device is not there (its pvName is then LVM's "[unknown]"). */
export interface PvReport { pvName: string; vgName: string; sizeBytes: number; freeBytes: number; uuid: string; missing?: boolean }
/** `missingPvCount` (set only when above 0): PVs of the VG whose device is not there; LVM then refuses to change the VG. */
export interface VgReport { name: string; sizeBytes: number; freeBytes: number; extentBytes: number; pvCount: number; lvCount: number; tags: string[]; missingPvCount?: number }
/** `partial` (set only when true): part of the LV lies on a missing PV (LVM will not activate it). */
export interface LvReport { name: string; vgName: string; sizeBytes: number; tags: string[]; active: boolean; path: string; partial?: boolean }

/**
 * The block devices LVM may look at: the PVs of Loam's pools on this node, from trusted data
 * (see src/localstorage/pool-devices.ts). Every command gets them as `--devices`, so LVM never
 * reads a PV or VG a tenant made inside a volume (an LV, a DRBD or loop device on top of one).
 */
export type DeviceSource = (signal?: AbortSignal) => Promise<readonly string[]>;
/**
 * An LV to create or grow; `extentBytes` (optional) lets the door compute the resulting size.
 * `replicaUid`: the metadata.uid of the LocalVolumeReplica the LV is made for; lvcreate tags the LV
 * with it (`replicaUidTag`), so only that replica ever adopts, grows or removes it.
 */
export interface LvSpec { vgName: string; lvName: string; sizeBytes: number; extentBytes?: number; replicaUid?: string }

/** The tags lvcreate gives an LV made to `spec`: `loam.io`, and the replica's UID when given. */
export function lvcreateTags(spec: LvSpec): string[] {
  return spec.replicaUid === undefined ? [loamTag] : [loamTag, replicaUidTag(spec.replicaUid)];
}

/** The arguments of `lvm lvcreate` for `spec` (pure, so the tags are tested without device-mapper). */
export function lvcreateArgs(spec: LvSpec): string[] {
  // Wiping signatures and zeroing the start means a new LV never shows a former tenant's
  // filesystem, so NodeStage's "format only when empty" cannot mount someone else's data.
  return ['lvcreate', '--yes', '--wipesignatures', 'y', '--zero', 'y', ...lvcreateTags(spec).flatMap((t) => ['--addtag', t]),
    '--name', spec.lvName, '--size', `${spec.sizeBytes}b`, spec.vgName];
}

/** Bytes rounded up to whole extents, as LVM allocates them. */
export function roundUpToExtent(bytes: number, extentBytes: number): number {
  return Math.ceil(bytes / extentBytes) * extentBytes;
}

/** The report of an LV just created or grown to `spec` (active, at LVM's /dev/VG/LV path). */
function lvReportOf(spec: LvSpec, tags: string[]): LvReport {
  return { name: spec.lvName, vgName: spec.vgName, sizeBytes: roundUpToExtent(spec.sizeBytes, spec.extentBytes!), tags, active: true, path: `/dev/${spec.vgName}/${spec.lvName}` };
}

/** The LV itself when it carries Loam's tag; an LvmError refusing `op` otherwise. */
function checkedTag(lv: LvReport, op: string): LvReport {
  if (!lv.tags.includes(loamTag)) {
    throw new LvmError([op], undefined, '', `refusing to ${op.slice(2)} ${lv.vgName}/${lv.name}: it has no ${loamTag} tag, so Loam did not create it`);
  }
  return lv;
}

// LVM's words for "that object does not exist" (its exit code is the generic 5).
const notFoundPatterns = [
  /Volume group "[^"]*" not found/,
  /Failed to find logical volume/,
  /Failed to find physical volume/,
  /Cannot access VG .* not found/,
  /No such file or directory/,
  /not found or rejected by a filter/,
];

export class LvmError extends Error {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode?: number;
  readonly stderr: string;
  /** The line of stderr that says what went wrong, for status messages and events. */
  readonly line: string;
  readonly notFound: boolean;

  constructor(args: readonly string[], exitCode: number | undefined, stderr: string, line?: string) {
    const described = line ?? significantLine(stderr) ?? `exit code ${exitCode ?? 'unknown'}`;
    super(`lvm ${args[0]} failed: ${described}`);
    this.name = 'LvmError';
    this.command = args[0] ?? '';
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.line = described;
    this.notFound = notFoundPatterns.some((p) => p.test(stderr));
  }
}

/**
 * The first line of LVM's stderr that is an error rather than a warning about the environment
 * (locking directories, udev, devices files); falls back to the first non-empty line.
 */
export function significantLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const noise = /^(WARNING|File descriptor .* leaked|Udev is running|.*udev.*not running)/i;
  return lines.find((l) => !noise.test(l)) ?? lines[0];
}

type ReportRow = Record<string, string>;

/** Rows of one section (`pv`, `vg`, `lv`) of an LVM JSON report. */
export function parseReport(stdout: string, section: 'pv' | 'vg' | 'lv'): ReportRow[] {
  if (stdout.trim() === '') return [];
  const parsed = JSON.parse(stdout) as { report?: Array<Record<string, ReportRow[] | undefined>> };
  return (parsed.report ?? []).flatMap((r) => r[section] ?? []);
}

function bytes(row: ReportRow, key: string): number {
  const n = Number(row[key] ?? '0');
  if (!Number.isFinite(n)) throw new Error(`lvm report field ${key} is not a number: "${row[key]}"`);
  return n;
}

function tags(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0);
}

export function toPv(row: ReportRow): PvReport {
  return { pvName: row.pv_name ?? '', vgName: row.vg_name ?? '', sizeBytes: bytes(row, 'pv_size'), freeBytes: bytes(row, 'pv_free'), uuid: row.pv_uuid ?? '', ...((row.pv_missing ?? '') === 'missing' ? { missing: true } : {}) };
}

export function toVg(row: ReportRow): VgReport {
  return {
    name: row.vg_name ?? '',
    sizeBytes: bytes(row, 'vg_size'),
    freeBytes: bytes(row, 'vg_free'),
    extentBytes: bytes(row, 'vg_extent_size'),
    pvCount: bytes(row, 'pv_count'),
    lvCount: bytes(row, 'lv_count'),
    tags: tags(row.vg_tags),
    ...(bytes(row, 'vg_missing_pv_count') > 0 ? { missingPvCount: bytes(row, 'vg_missing_pv_count') } : {}),
  };
}

export function toLv(row: ReportRow): LvReport {
  const vgName = row.vg_name ?? '';
  const name = row.lv_name ?? '';
  return {
    name,
    vgName,
    sizeBytes: bytes(row, 'lv_size'),
    tags: tags(row.lv_tags),
    active: (row.lv_active ?? '') === 'active',
    path: row.lv_path || `/dev/${vgName}/${name}`,
    ...((row.lv_health_status ?? '') === 'partial' ? { partial: true } : {}),
  };
}

const reportArgs = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];

export interface LvmOptions {
  /** The only devices LVM may see (required: an unrestricted LVM would trust whatever any disk says). */
  devices: DeviceSource;
  logger?: Logger;
  /** Merged over process.env (e.g. DM_DISABLE_UDEV=1 where no udevd runs); LC_ALL=C always wins. */
  env?: NodeJS.ProcessEnv;
}

export class Lvm {
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly devices: DeviceSource;

  constructor(opts: LvmOptions) {
    this.log = opts.logger ?? componentLogger('lvm');
    this.devices = opts.devices;
    // LVM warns about every inherited descriptor (node's IPC pipes); the warning is noise in each error.
    this.env = { ...opts.env, LVM_SUPPRESS_FD_WARNINGS: '1', LC_ALL: 'C' };
  }

  /**
   * Runs `lvm <args>` restricted to the pool devices (plus `add`, the devices a pvcreate/vgcreate/
   * vgextend is about); resolves with stdout, rejects with LvmError. With no device at all LVM is
   * not run: a report is empty (`emptyReport`), any other command fails.
   */
  private async run(args: string[], o: LvmCallOptions = {}, how: { add?: string[]; emptyReport?: boolean } = {}): Promise<string> {
    const devices = [...new Set([...(await this.devices(o.signal)), ...(how.add ?? [])])];
    if (devices.length === 0) {
      if (how.emptyReport) return '';
      throw new LvmError(args, undefined, '', 'no disk of a Loam pool is on this node');
    }
    const started = performance.now();
    // stdin is /dev/null: a question LVM asks (wipe this signature?) is answered "no" and the command fails.
    const result = await execa('lvm', [args[0]!, ...devices.flatMap((d) => ['--devices', d]), ...args.slice(1)], {
      reject: false,
      env: this.env,
      timeout: o.timeoutMs ?? 120_000,
      cancelSignal: o.signal,
      stdin: 'ignore',
    });
    const ms = Math.round(performance.now() - started);
    if (result.isCanceled) throw new LvmError(args, result.exitCode, String(result.stderr ?? ''), 'cancelled');
    if (result.timedOut) throw new LvmError(args, result.exitCode, String(result.stderr ?? ''), `timed out after ${o.timeoutMs ?? 120_000} ms`);
    if (result.failed) {
      const stderr = String(result.stderr ?? '') || (result.exitCode === undefined ? String(result.message ?? '') : '');
      const err = new LvmError(args, result.exitCode, stderr);
      this.log.debug('lvm command failed', { args, exitCode: result.exitCode, ms, line: err.line });
      throw err;
    }
    this.log.debug('lvm command', { args: args.slice(0, 1), ms });
    return String(result.stdout ?? '');
  }

  async pvs(o?: LvmCallOptions): Promise<PvReport[]> {
    const out = await this.run(['pvs', ...reportArgs, '-o', 'pv_name,vg_name,pv_size,pv_free,pv_uuid,pv_missing'], o, { emptyReport: true });
    return parseReport(out, 'pv').map(toPv);
  }

  async vgs(o?: LvmCallOptions): Promise<VgReport[]> {
    const out = await this.run(['vgs', ...reportArgs, '-o', 'vg_name,vg_size,vg_free,vg_extent_size,pv_count,lv_count,vg_tags,vg_missing_pv_count'], o, { emptyReport: true });
    return parseReport(out, 'vg').map(toVg);
  }

  async lvs(vgName?: string, o?: LvmCallOptions): Promise<LvReport[]> {
    if (vgName !== undefined) checkNames('lvs', vgName);
    try {
      const out = await this.run(['lvs', ...reportArgs, '-o', 'lv_name,vg_name,lv_size,lv_tags,lv_active,lv_path,lv_health_status', ...(vgName ? [vgName] : [])], o, { emptyReport: true });
      return parseReport(out, 'lv').map(toLv);
    } catch (err) {
      if (vgName && err instanceof LvmError && err.notFound) return [];
      throw err;
    }
  }

  async findLv(vgName: string, lvName: string, o?: LvmCallOptions): Promise<LvReport | undefined> {
    checkNames('lvs', vgName, lvName);
    return (await this.lvs(vgName, o)).find((lv) => lv.name === lvName);
  }

  /**
   * Makes `device` a PV, with the UUID Loam chose and recorded before (`uuid`, see docs/localstorage.md,
   * "Pools"). No --yes and no --force, stdin /dev/null: a device that holds any signature (a
   * filesystem written since the safety probe) makes pvcreate ask, get "no" and fail; nothing is wiped.
   */
  async pvcreate(device: string, o?: LvmCallOptions & { uuid?: string }): Promise<void> {
    checkDevice('pvcreate', device);
    if (o?.uuid !== undefined && !isPvUuid(o.uuid)) throw new LvmError(['pvcreate'], undefined, '', `refusing to run pvcreate: "${o.uuid}" is not an LVM PV UUID`);
    await this.run(['pvcreate', ...(o?.uuid ? ['--uuid', o.uuid, '--norestorefile'] : []), device], o, { add: [device] });
  }

  /** A tagged VG on PVs made by pvcreate (no --yes: a device that is not a PV yet makes it ask and fail). */
  async vgcreate(vgName: string, devices: string[], o?: LvmCallOptions): Promise<void> {
    checkNames('vgcreate', vgName);
    devices.forEach((d) => checkDevice('vgcreate', d));
    await this.run(['vgcreate', '--addtag', loamTag, vgName, ...devices], o, { add: devices });
  }

  async vgextend(vgName: string, devices: string[], o?: LvmCallOptions): Promise<void> {
    checkNames('vgextend', vgName);
    devices.forEach((d) => checkDevice('vgextend', d));
    await this.run(['vgextend', vgName, ...devices], o, { add: devices });
  }

  async activateVg(vgName: string, o?: LvmCallOptions): Promise<void> {
    checkNames('vgchange', vgName);
    await this.run(['vgchange', '--activate', 'y', vgName], o);
  }

  /**
   * Creates a tagged LV. With `extentBytes` (the VG's extent size, as last read) the report is
   * computed (LVM rounds the size up to whole extents, the LV is active at /dev/VG/LV) instead of
   * asking lvs again: one LVM command instead of two on the hot path of every new volume.
   */
  async lvcreate(spec: LvSpec, o?: LvmCallOptions): Promise<LvReport> {
    checkNames('lvcreate', spec.vgName, spec.lvName);
    await this.run(lvcreateArgs(spec), o);
    if (spec.extentBytes) return lvReportOf(spec, lvcreateTags(spec));
    return this.mustFind(spec.vgName, spec.lvName, 'lvcreate', o);
  }

  /**
   * Tags a Loam LV made before the replica-UID tag with the UID of the replica that reported it
   * (`lvchange --addtag`); the caller has decided it is that replica's (replica-plan.ts). An LV
   * without `loam.io`, or one that already names a replica, is refused.
   */
  async tagReplicaUid(lv: LvReport, replicaUid: string, o?: LvmCallOptions): Promise<LvReport> {
    checkNames('lvchange', lv.vgName, lv.name);
    checkedTag(lv, 'lvchange');
    if (replicaUidOf(lv) !== undefined) throw new LvmError(['lvchange'], undefined, '', `refusing to tag ${lv.vgName}/${lv.name}: it already names replica ${replicaUidOf(lv)}`);
    const tag = replicaUidTag(replicaUid);
    await this.run(['lvchange', '--addtag', tag, `${lv.vgName}/${lv.name}`], o);
    return { ...lv, tags: [...lv.tags, tag] };
  }

  /**
   * Grows a Loam LV to at least sizeBytes; an LV already that big is left as it is. `current` is
   * a report the caller has just read (saves a look; its tag is still checked).
   */
  async lvextend(spec: LvSpec, o?: LvmCallOptions & { current?: LvReport }): Promise<LvReport> {
    checkNames('lvextend', spec.vgName, spec.lvName);
    const lv = o?.current ? checkedTag(o.current, 'lvextend') : await this.taggedLv(spec.vgName, spec.lvName, 'lvextend', o);
    if (!lv) throw new LvmError(['lvextend'], undefined, '', `logical volume ${spec.vgName}/${spec.lvName} not found`);
    if (lv.sizeBytes >= spec.sizeBytes) return lv;
    await this.run(['lvextend', '--size', `${spec.sizeBytes}b`, `${spec.vgName}/${spec.lvName}`], o);
    if (spec.extentBytes) return lvReportOf(spec, lv.tags);
    return this.mustFind(spec.vgName, spec.lvName, 'lvextend', o);
  }

  /** Removes a Loam LV; false when it did not exist. `current`: a report the caller has just read. */
  async lvremove(vgName: string, lvName: string, o?: LvmCallOptions & { current?: LvReport }): Promise<boolean> {
    checkNames('lvremove', vgName, lvName);
    const lv = o?.current ? checkedTag(o.current, 'lvremove') : await this.taggedLv(vgName, lvName, 'lvremove', o);
    if (!lv) return false;
    try {
      await this.run(['lvremove', '--yes', `${vgName}/${lvName}`], o);
    } catch (err) {
      // Gone since the caller looked: what lvremove was for.
      if (err instanceof LvmError && err.notFound) return false;
      throw err;
    }
    return true;
  }

  private async taggedLv(vgName: string, lvName: string, op: string, o?: LvmCallOptions): Promise<LvReport | undefined> {
    const lv = await this.findLv(vgName, lvName, o);
    return lv && checkedTag(lv, op);
  }

  private async mustFind(vgName: string, lvName: string, op: string, o?: LvmCallOptions): Promise<LvReport> {
    const lv = await this.findLv(vgName, lvName, o);
    if (!lv) throw new LvmError([op], undefined, '', `${op} succeeded but ${vgName}/${lvName} is not listed by lvs`);
    return lv;
  }
}
