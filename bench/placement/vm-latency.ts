/**
 * Benchmark: LocalVolume create → Ready latency with real LVM, in a VM (software emulation, one
 * vCPU). The e2e setup of test/e2e/localstorage.test.ts: the host's test control plane,
 * loam-controller on the host (placement), loam-node in the VM (lvcreate, status), one pool disk
 * claimed for Local Storage. N volumes are created one after another; each is timed from just
 * before its POST until a watch of the API server shows it Ready.
 *
 * No target is set by the issue. For comparison, HwameiStor's volume controller polls every 2 s,
 * so its create → ready is at least one poll (up to 2 s) on top of the LVM work.
 *
 *   npx tsx bench/placement/vm-latency.ts [--volumes 50]
 */
import { parseArgs } from 'node:util';
import { loamResources, type LocalVolume } from '../../src/api/index.js';
import { setLogLevel } from '../../src/common/logger.js';
import { Informer } from '../../src/kube/index.js';
import { ensureInitramfs } from '../../test/e2e/harness/initramfs.js';
import { ensureKernel } from '../../test/e2e/harness/kernel.js';
import { LocalStorageCluster } from '../../test/e2e/harness/local-storage.js';
import { endRun } from '../../test/e2e/harness/run.js';

const HWAMEISTOR_POLL_MS = 2000;
const MiB = 1024 ** 2;

const { values } = parseArgs({ options: { volumes: { type: 'string', default: '50' } } });
const count = Number(values.volumes);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  if (!process.env.LOAM_LOG_LEVEL) setLogLevel('warn');
  await ensureInitramfs(await ensureKernel());
  console.log('starting the control plane, the VM, loam-controller and loam-node...');
  const ls = await LocalStorageCluster.start({ nodeName: 'bench-ls', poolDiskBytes: 2048 * MiB });
  const informer = new Informer<LocalVolume>(ls.clients.rest, { resource: loamResources.localVolumes });
  try {
    const claimMs = await ls.claimPoolDisk();
    console.log(`pool ${ls.vgName} ready in the guest ${(claimMs / 1000).toFixed(1)} s after the LocalDiskClaim`);
    const waiters = new Map<string, (t: number) => void>();
    const check = (v: LocalVolume): void => {
      const done = waiters.get(v.metadata.name!);
      if (done && v.status?.state === 'Ready') {
        waiters.delete(v.metadata.name!);
        done(performance.now());
      }
    };
    informer.on('add', check);
    informer.on('update', check);
    informer.start();
    await informer.waitForSync();

    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const name = ls.newVolumeName();
      const ready = new Promise<number>((resolve) => waiters.set(name, resolve));
      const t0 = performance.now();
      await ls.createVolume(name, 8 * MiB);
      latencies.push((await ready) - t0);
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(`\nLocalVolume create → Ready, ${count} volumes one after another, 1 replica, in a TCG VM with 1 vCPU:`);
    console.log(`  p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, min ${latencies[0]!.toFixed(0)} ms, max ${latencies[latencies.length - 1]!.toFixed(0)} ms`);
    console.log(`  target: none set by the issue; comparison: HwameiStor polls every ${HWAMEISTOR_POLL_MS} ms, so it needs up to ${HWAMEISTOR_POLL_MS} ms on top of the LVM work`);
  } finally {
    await informer.stop();
    await ls.stop();
    await endRun();
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  await endRun();
  process.exit(1);
});
