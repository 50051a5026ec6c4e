/**
 * What the node has, in memory: one record per disk (by LocalDisk name), refreshed from
 * enumeration and the safety probe. Device events are debounced per device; a refresh of one
 * device never runs twice at once. Every record that may have changed is handed to `onChange`,
 * which queues it for the publisher. Nothing here writes to a disk or to the API server.
 */
import { localDiskName, type DiskHealth, type LocalDiskSpec, type SmartData } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { notACandidate } from './candidates.js';
import { diskIdentity } from './identity.js';
import { mediaClass } from './media.js';
import { probeDisk, readSystemTables, type SafetyFacts, type SystemTables } from './probe.js';
import { assessSafety, type SafetyVerdict } from './safety.js';
import type { SmartReading } from './smart.js';
import { readSysfsIdentity, refreshedDevice } from './sysfs.js';
import type { BlockDevice, BlockDeviceEvent } from './udev-types.js';

/** The spec fields discovery owns (server-side applied with field manager loam-node). */
export type DiscoverySpec = Pick<LocalDiskSpec, 'nodeName' | 'devicePath' | 'identity' | 'capacityBytes' | 'mediaClass'>;

export interface DiskRecord {
  name: string;
  present: boolean;
  /** Kernel name while present, e.g. `loop3`. */
  sysname?: string;
  spec: DiscoverySpec;
  facts: SafetyFacts;
  verdict: SafetyVerdict;
  health: DiskHealth;
  smart?: SmartData;
  /** When SMART was last read (ms since epoch); 0 = never. */
  smartReadAt: number;
  /** When the disk was last seen present (ms since epoch). */
  seenAt: number;
}

export interface DiskInventoryOptions {
  nodeName: string;
  includeLoop: boolean;
  debounceMs: number;
  /** Read SMART this often per disk (ms); 0 turns SMART off (health Unknown). */
  smartIntervalMs: number;
  enumerate: () => BlockDevice[];
  readSmart: (devnode: string) => Promise<SmartReading>;
  onChange: (name: string) => void;
  logger: Logger;
  /** Parallel probes in a full refresh. */
  concurrency?: number;
}

export class DiskInventory {
  readonly records = new Map<string, DiskRecord>();
  private readonly bySysname = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The last uevent of each whole disk, so one device can be re-read without enumerating all. */
  private readonly lastEvents = new Map<string, BlockDeviceEvent>();
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: DiskInventoryOptions) {}

  /** A uevent: refresh the device (a partition's event refreshes its disk) after the debounce. */
  handleEvent(ev: BlockDeviceEvent): void {
    const sysname = ev.devtype === 'partition' ? parentOf(ev.syspath) : ev.sysname;
    if (!sysname || this.stopped) return;
    if (ev.devtype !== 'partition') this.lastEvents.set(sysname, ev);
    clearTimeout(this.timers.get(sysname));
    this.timers.set(sysname, setTimeout(() => {
      this.timers.delete(sysname);
      void this.refresh([sysname]);
    }, this.opts.debounceMs));
  }

  /** Re-reads every device (and every device it knew), e.g. on resync or after lost uevents. */
  async refreshAll(): Promise<void> {
    await this.refresh(undefined);
  }

  /** Names of the disks present now. */
  presentNames(): string[] {
    return [...this.records.values()].filter((r) => r.present).map((r) => r.name);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Waits for refreshes in flight (for shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  /**
   * Re-reads the given devices (all when undefined). A device known from a uevent is re-read from
   * sysfs alone; otherwise every device is enumerated (tens of ms with a few hundred devices).
   */
  private async refresh(only: string[] | undefined): Promise<void> {
    let devices: BlockDevice[];
    let tables: SystemTables;
    try {
      const seen = only?.map((s) => this.lastEvents.get(s));
      devices = seen?.every((e) => e !== undefined)
        ? seen.map((e) => refreshedDevice(e!)).filter((d): d is BlockDevice => d !== undefined)
        : this.opts.enumerate();
      for (const s of only ?? []) this.lastEvents.delete(s);
      tables = await readSystemTables();
    } catch (err) {
      this.opts.logger.error('cannot enumerate block devices', { error: (err as Error).message });
      return;
    }
    const byName = new Map(devices.map((d) => [d.sysname, d]));
    const sysnames = only ?? [...new Set([...byName.keys(), ...this.bySysname.keys()])];
    const limit = this.opts.concurrency ?? 8;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sysnames.length) {
        const sysname = sysnames[next++]!;
        await this.serialised(sysname, () => this.refreshOne(sysname, byName.get(sysname), tables));
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, sysnames.length) }, worker));
  }

  /** Runs refreshes of one device one after another. */
  private serialised(sysname: string, work: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(sysname) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      this.opts.logger.error('refresh of a device failed', { device: sysname, error: (err as Error).message });
    });
    this.chains.set(sysname, run);
    void run.then(() => {
      if (this.chains.get(sysname) === run) this.chains.delete(sysname);
    });
    return run;
  }

  private markGone(sysname: string): void {
    const name = this.bySysname.get(sysname);
    this.bySysname.delete(sysname);
    const rec = name ? this.records.get(name) : undefined;
    if (!rec || rec.sysname !== sysname) return;
    rec.present = false;
    rec.sysname = undefined;
    this.opts.logger.info('disk gone', { disk: rec.name, device: sysname });
    this.opts.onChange(rec.name);
  }

  private async refreshOne(sysname: string, dev: BlockDevice | undefined, tables: SystemTables): Promise<void> {
    const why = dev ? notACandidate(dev, { includeLoop: this.opts.includeLoop }) : 'gone';
    const sysfs = dev && !why ? readSysfsIdentity(sysname) : undefined;
    const id = dev && sysfs ? diskIdentity(dev, sysfs) : null;
    if (!dev || !sysfs || !id) {
      this.markGone(sysname);
      return;
    }
    const name = localDiskName(this.opts.nodeName, id.stableId);
    if (this.bySysname.get(sysname) !== name) this.markGone(sysname);
    const facts = await probeDisk(dev, tables);
    const verdict = assessSafety(facts);
    if (facts.probeError) this.opts.logger.warn('safety probe failed; the disk is treated as unsafe', { disk: name, device: sysname, error: facts.probeError });
    const spec: DiscoverySpec = {
      nodeName: this.opts.nodeName,
      devicePath: dev.devnode!,
      identity: id.identity,
      capacityBytes: dev.sizeBytes!,
      mediaClass: mediaClass(dev, sysfs.transport),
    };
    const old = this.records.get(name);
    // Another device with the same identity (e.g. one file on two loop devices) keeps the first.
    if (old?.present && old.sysname && old.sysname !== sysname && this.bySysname.get(old.sysname) === name) {
      this.opts.logger.warn('two devices share one identity; keeping the first', { disk: name, first: old.sysname, second: sysname });
      return;
    }
    const rec: DiskRecord = {
      name,
      present: true,
      sysname,
      spec,
      facts,
      verdict,
      health: old?.health ?? 'Unknown',
      smart: old?.smart,
      smartReadAt: old?.smartReadAt ?? 0,
      seenAt: Date.now(),
    };
    if (!old?.present) this.opts.logger.info('disk found', { disk: name, device: dev.devnode, state: verdict.safe ? 'empty' : verdict.reason });
    this.records.set(name, rec);
    this.bySysname.set(sysname, name);
    this.opts.onChange(name);
    if (this.smartDue(rec, sysname)) {
      this.checkSmart(rec).catch((err: unknown) => this.opts.logger.warn('SMART read failed', { disk: name, error: (err as Error).message }));
    }
  }

  private smartDue(rec: DiskRecord, sysname: string): boolean {
    // Loop devices have no SMART: Unknown without asking smartctl.
    if (this.opts.smartIntervalMs <= 0 || sysname.startsWith('loop')) return false;
    return Date.now() - rec.smartReadAt >= this.opts.smartIntervalMs;
  }

  private async checkSmart(rec: DiskRecord): Promise<void> {
    rec.smartReadAt = Date.now();
    const reading = await this.opts.readSmart(rec.spec.devicePath);
    const current = this.records.get(rec.name);
    if (!current) return;
    current.smartReadAt = rec.smartReadAt;
    if (reading.note) this.opts.logger.debug('no SMART health', { disk: rec.name, note: reading.note });
    current.health = reading.health;
    current.smart = reading.smart;
    this.opts.onChange(rec.name);
  }
}

/** `/sys/devices/.../block/sda/sda1` → `sda`. */
function parentOf(syspath: string): string | undefined {
  const parts = syspath.split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}
