/**
 * The fault loop (issue #13, "Prove it under faults"): cycles of volume work with a kill -9 of
 * loam-node or loam-controller at a random moment of each, on a LocalStorageCluster (loam-controller
 * on the host, loam-node in a VM with real LVM). Each cycle:
 *
 *   1. creates, grows and deletes volumes (LocalVolumes, as the CSI controller writes them);
 *   2. kills one program with SIGKILL: loam-node or loam-controller after a random delay, or
 *      loam-node right after the LV of a new volume appeared in `lvs`, before its replica reported
 *      it (loam-node runs with the LOAM_TEST_PAUSE_AFTER_LVCREATE_MS hook, which holds that moment
 *      open), and starts it again;
 *   3. waits until every volume is Ready at its size or gone, failing at once if a program dies
 *      again or a volume goes Failed;
 *   4. checks, against LVM's own view in the guest: every LV tagged loam.io belongs to a live
 *      replica (no leak); every live volume has its one LV, with the same LVM UUID and the same
 *      4 KiB marker written to it once it was first Ready (never lost, never made again empty).
 *
 * Choices come from a seeded PRNG, so a run can be replayed (`LOAM_FAULT_SEED`, `--seed`). Only the
 * public behaviour is used: the custom resources, the guest's `lvs` and the LV devices.
 * Shared by test/e2e/faults/faults.test.ts (CI, 20 cycles) and bench/faults/run.ts (`npm run faults`).
 */
import type { LocalVolumeReplica } from '../../../src/api/index.js';
import { replicaUidOf } from '../../../src/localstorage/lvm.js';
import { sleep } from '../../../src/kube/index.js';
import { StopWaiting } from '../../../tools/testenv/wait.js';
import { guestLvs, type GuestLv, type LocalStorageCluster } from '../harness/local-storage.js';
import { readMarkers, writeMarker } from './lv-marker.js';
import type { SeededRandom } from './seeded-random.js';

const MiB = 1024 ** 2;

export type KillKind = 'loam-node' | 'loam-node-after-lvcreate' | 'loam-controller';
export const killKinds: readonly KillKind[] = ['loam-node', 'loam-node-after-lvcreate', 'loam-controller'];

/** How long loam-node holds each new LV before reporting it (the test hook), so kills can land there. */
export const pauseAfterLvcreateMs = 1500;

/** loam-node's environment in the fault loop: the hook that holds the lvcreate → status window open. */
export const faultLoopNodeEnv: Record<string, string> = { LOAM_TEST_PAUSE_AFTER_LVCREATE_MS: String(pauseAfterLvcreateMs) };

export interface FaultLoopOptions {
  cycles: number;
  rng: SeededRandom;
  /** One line per cycle, as it ends. */
  progress?: (line: string) => void;
  /** At most this many volumes at once (default 6). */
  maxVolumes?: number;
  /** A random kill lands from 0 to this many ms after the cycle's requests (default 3000). */
  maxKillDelayMs?: number;
  /** How long a cycle may take to converge after the kill (default 240 s). */
  convergeTimeoutMs?: number;
}

export interface FaultLoopFigures {
  seed: number;
  cyclesRun: number;
  kills: Record<KillKind, number>;
  /** loam-node kills that landed after an lvcreate and before the replica reported the LV Ready. */
  killsBetweenLvcreateAndStatus: number;
  created: number;
  expanded: number;
  deleted: number;
  cycleMs: number[];
  /** Per cycle: from the kill until every volume was Ready at its size or gone. */
  convergenceMs: number[];
  /** What the checks found; each entry says which LV or volume and what was wrong. */
  leakedLvs: string[];
  lostVolumes: string[];
}

interface TrackedVolume {
  name: string;
  capacityBytes: number;
  /** Set once the volume was Ready and its marker written. */
  marker?: { sha256: string; lvUuid: string };
}

interface CyclePlan {
  create: number[];
  expand?: string;
  delete?: string;
  kill: KillKind;
  delayMs: number;
}

export class FaultLoop {
  readonly figures: FaultLoopFigures;
  private readonly live = new Map<string, TrackedVolume>();
  /** Deleted by the loop: must be gone, with their LVs. */
  private readonly deleted = new Set<string>();
  /** LocalVolumes that were there before the loop (another test's): not the loop's to judge. */
  private readonly before = new Set<string>();

  constructor(private readonly ls: LocalStorageCluster, private readonly opts: FaultLoopOptions) {
    this.figures = {
      seed: opts.rng.seed, cyclesRun: 0, kills: { 'loam-node': 0, 'loam-node-after-lvcreate': 0, 'loam-controller': 0 },
      killsBetweenLvcreateAndStatus: 0, created: 0, expanded: 0, deleted: 0, cycleMs: [], convergenceMs: [], leakedLvs: [], lostVolumes: [],
    };
  }

  /** Runs the cycles; stops after the first cycle whose checks found a leak or a lost volume. */
  async run(): Promise<FaultLoopFigures> {
    for (const v of await this.ls.volumes()) this.before.add(v.metadata.name!);
    for (let cycle = 1; cycle <= this.opts.cycles; cycle++) {
      await this.cycle(cycle);
      if (this.figures.leakedLvs.length > 0 || this.figures.lostVolumes.length > 0) break;
    }
    return this.figures;
  }

  /** Deletes every volume the loop made and checks that nothing of them is left: no object, no LV. */
  async cleanUp(): Promise<void> {
    for (const name of this.live.keys()) {
      await this.ls.deleteVolume(name);
      this.deleted.add(name);
    }
    this.live.clear();
    await this.converge('every volume of the loop to be gone');
    await this.check();
  }

  private async cycle(cycle: number): Promise<void> {
    const started = Date.now();
    const plan = this.plan();
    const created: string[] = [];
    for (const bytes of plan.create) {
      const name = this.ls.newVolumeName();
      await this.ls.createVolume(name, bytes);
      this.live.set(name, { name, capacityBytes: bytes });
      created.push(name);
      this.figures.created++;
    }
    if (plan.expand) {
      const vol = this.live.get(plan.expand)!;
      vol.capacityBytes += 8 * MiB;
      await this.ls.growVolume(vol.name, vol.capacityBytes);
      this.figures.expanded++;
    }
    if (plan.delete) {
      await this.ls.deleteVolume(plan.delete);
      this.live.delete(plan.delete);
      this.deleted.add(plan.delete);
      this.figures.deleted++;
    }

    const inWindow = await this.kill(plan, created[0]);
    const killedAt = Date.now();
    this.figures.kills[plan.kill]++;
    if (inWindow) this.figures.killsBetweenLvcreateAndStatus++;
    if (plan.kill === 'loam-controller') this.ls.startController();
    else await this.ls.startLoamNode(faultLoopNodeEnv);

    await this.converge(`every volume Ready at its size or gone (cycle ${cycle}, seed ${this.figures.seed})`);
    const convergedMs = Date.now() - killedAt;
    await this.check();
    await this.markNewVolumes();
    this.figures.convergenceMs.push(convergedMs);
    this.figures.cycleMs.push(Date.now() - started);
    this.figures.cyclesRun++;
    const ops = `create ${plan.create.length}, expand ${plan.expand ? 1 : 0}, delete ${plan.delete ? 1 : 0}`;
    const when = plan.kill === 'loam-node-after-lvcreate' ? (inWindow ? 'between lvcreate and the status write' : 'after lvcreate, once Ready') : `${plan.delayMs} ms after the requests`;
    this.opts.progress?.(`cycle ${cycle}/${this.opts.cycles}: ${ops}; kill -9 ${plan.kill.replace('-after-lvcreate', '')} ${when}; converged ${(convergedMs / 1000).toFixed(1)} s after the kill; ${this.live.size} volumes checked`);
  }

  /** The cycle's requests and its kill, from the PRNG. */
  private plan(): CyclePlan {
    const { rng } = this.opts;
    const max = this.opts.maxVolumes ?? 6;
    const existing = [...this.live.values()].filter((v) => v.marker);
    const room = max - this.live.size;
    const create = Array.from({ length: room > 0 ? rng.int(1, Math.min(2, room)) : 0 }, () => rng.int(1, 3) * 8 * MiB);
    const growable = existing.filter((v) => v.capacityBytes < 64 * MiB);
    const expand = growable.length > 0 && rng.chance(0.6) ? rng.pick(growable).name : undefined;
    const deletable = existing.filter((v) => v.name !== expand);
    const mustDelete = create.length === 0;
    const del = deletable.length > 0 && (mustDelete || (existing.length >= 3 && rng.chance(0.5))) ? rng.pick(deletable).name : undefined;
    // loam-node kills cost the most (its start in the emulated guest): about two in five cycles.
    const kill = rng.weighted<KillKind>(create.length > 0 ? { 'loam-node': 20, 'loam-node-after-lvcreate': 20, 'loam-controller': 60 } : { 'loam-node': 40, 'loam-node-after-lvcreate': 0, 'loam-controller': 60 });
    return { create, expand, delete: del, kill, delayMs: rng.int(0, this.opts.maxKillDelayMs ?? 3000) };
  }

  /**
   * Kills the planned program. For `loam-node-after-lvcreate` it waits until the new volume's LV is
   * in `lvs`; returns true when the kill landed before its replica reported the LV Ready.
   */
  private async kill(plan: CyclePlan, newVolume: string | undefined): Promise<boolean> {
    if (plan.kill === 'loam-controller') {
      await sleep(plan.delayMs);
      await this.ls.killController();
      return false;
    }
    if (plan.kill === 'loam-node') {
      await sleep(plan.delayMs);
      await this.ls.killLoamNode();
      return false;
    }
    if (!newVolume) throw new Error('a kill after lvcreate needs a volume created in the cycle');
    await this.ls.waitWhileRunning(`the LV of ${newVolume} to appear in the guest`, async () => (await this.ls.guestLvs()).some((lv) => lv.name === newVolume), 120_000, 100);
    await this.ls.killLoamNode();
    const [replica] = await this.ls.replicas(newVolume);
    return replica?.status?.state !== 'Ready';
  }

  /** Waits until every live volume is Ready at its size and every deleted one is gone with its replicas. */
  private async converge(what: string): Promise<void> {
    await this.ls.waitWhileRunning(what, async () => {
      const [volumes, replicas] = await Promise.all([this.ls.volumes(), this.ls.replicas()]);
      const byName = new Map(volumes.map((v) => [v.metadata.name!, v]));
      for (const tracked of this.live.values()) {
        const vol = byName.get(tracked.name);
        if (vol?.status?.state === 'Failed') throw new StopWaiting(`LocalVolume ${tracked.name} is Failed: ${vol.status.message ?? ''}`);
        if (!vol) throw new StopWaiting(`LocalVolume ${tracked.name} is gone, but nobody deleted it`);
        if (vol.status?.state !== 'Ready' || (vol.status.allocatedBytes ?? 0) < tracked.capacityBytes) return false;
      }
      const replicaVolumes = new Set(replicas.map((r) => r.spec.volumeName));
      return [...this.deleted].every((name) => !byName.has(name) && !replicaVolumes.has(name));
    }, this.opts.convergeTimeoutMs ?? 240_000, 500);
  }

  /**
   * After convergence: leaks (an LV tagged loam.io that no live replica owns, by name and, where the
   * LV carries one, by replica UID) and losses (a live volume without its one LV, its UUID or its marker).
   */
  private async check(): Promise<void> {
    const [lvs, replicas, volumes] = await Promise.all([guestLvs(this.ls.vm), this.ls.replicas(), this.ls.volumes()]);
    this.figures.leakedLvs.push(...leakedLvs(lvs, replicas));
    const marked = [...this.live.values()].filter((v) => v.marker);
    const sums = await readMarkers(this.ls.vm, marked.map((v) => this.devicePath(v.name)));
    marked.forEach((v, i) => {
      const found = lvs.filter((lv) => lv.name === v.name);
      if (found.length !== 1) this.figures.lostVolumes.push(`${v.name}: ${found.length} LVs of that name in the guest (${found.map((lv) => `${lv.vgName}/${lv.name}`).join(', ')})`);
      else if (found[0]!.uuid !== v.marker!.lvUuid) this.figures.lostVolumes.push(`${v.name}: the LV was made again (LVM UUID ${v.marker!.lvUuid} is now ${found[0]!.uuid})`);
      else if (found[0]!.sizeBytes < v.capacityBytes) this.figures.lostVolumes.push(`${v.name}: LV of ${found[0]!.sizeBytes} bytes, the volume asks ${v.capacityBytes} and says Ready`);
      if (sums[i] !== v.marker!.sha256) this.figures.lostVolumes.push(`${v.name}: the marker written to ${this.devicePath(v.name)} when it was Ready is gone (sha256 ${v.marker!.sha256}, now "${sums[i]}")`);
    });
    for (const vol of volumes) {
      const name = vol.metadata.name!;
      if (!this.live.has(name) && !this.deleted.has(name) && !this.before.has(name)) this.figures.lostVolumes.push(`${name}: a LocalVolume the loop never made`);
    }
  }

  /** Writes the marker of every live volume that has none yet (all are Ready: the loop converged). */
  private async markNewVolumes(): Promise<void> {
    const lvs = await this.ls.guestLvs();
    for (const v of this.live.values()) {
      if (v.marker) continue;
      const lv = lvs.find((l) => l.name === v.name);
      if (!lv) throw new Error(`volume ${v.name} is Ready but its LV is not in ${this.ls.vgName}`);
      v.marker = { sha256: await writeMarker(this.ls.vm, this.devicePath(v.name)), lvUuid: lv.uuid };
    }
  }

  /** From the spec: the pool's VG and the volume's name. */
  private devicePath(name: string): string {
    return `/dev/${this.ls.vgName}/${name}`;
  }
}

/** LVs tagged loam.io that no replica owns: by VG and name, and by replica UID where the LV carries one. */
export function leakedLvs(lvs: readonly GuestLv[], replicas: readonly LocalVolumeReplica[]): string[] {
  return lvs.filter((lv) => lv.tags.includes('loam.io')).flatMap((lv) => {
    const owner = replicas.find((r) => r.spec.volumeName === lv.name && r.spec.poolName === lv.vgName && !r.metadata.deletionTimestamp);
    const uid = replicaUidOf(lv);
    if (!owner) return [`${lv.vgName}/${lv.name} (tags ${lv.tags.join(',')}): no live LocalVolumeReplica owns it`];
    if (uid !== undefined && uid !== owner.metadata.uid) return [`${lv.vgName}/${lv.name}: tagged for replica UID ${uid}, but replica ${owner.metadata.name} has UID ${owner.metadata.uid}`];
    return [];
  });
}

/** The figures as lines, for the test's summary and the runner's output. */
export function describeFigures(f: FaultLoopFigures): string[] {
  const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  const conv = [...f.convergenceMs].sort((a, b) => a - b);
  const total = f.cycleMs.reduce((a, b) => a + b, 0);
  return [
    `seed ${f.seed}, cycles ${f.cyclesRun}`,
    `kill -9: loam-node ${f.kills['loam-node'] + f.kills['loam-node-after-lvcreate']} (${f.kills['loam-node-after-lvcreate']} aimed after an lvcreate, ${f.killsBetweenLvcreateAndStatus} landed between lvcreate and the status write), loam-controller ${f.kills['loam-controller']}`,
    `volumes: created ${f.created}, expanded ${f.expanded}, deleted ${f.deleted}`,
    `time per cycle: mean ${seconds(f.cyclesRun ? total / f.cyclesRun : undefined)}, max ${seconds(Math.max(0, ...f.cycleMs))}`,
    `convergence after the kill: p50 ${seconds(nearestRank(conv, 0.5))}, max ${seconds(conv[conv.length - 1])}`,
    `leaked LVs: ${f.leakedLvs.length}, lost volumes: ${f.lostVolumes.length}`,
    ...f.leakedLvs.map((l) => `  leaked: ${l}`),
    ...f.lostVolumes.map((l) => `  lost: ${l}`),
  ];
}

/** The nearest-rank quantile `q` (0..1] of ascending `values`. */
function nearestRank(values: readonly number[], q: number): number | undefined {
  return values.length === 0 ? undefined : values[Math.max(0, Math.ceil(q * values.length) - 1)];
}
