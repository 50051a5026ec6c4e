/**
 * Benchmark of loam-node discovery (run as root: it makes loop devices). A real control plane
 * (tools/testenv), a real loam-node process with --include-loop, and N real loop devices.
 *
 * - Event latency: from just before `losetup -d` / `losetup` (detach / reattach of one disk) to the
 *   LocalDisk's new state (Offline / Available) arriving on a watch of the API server. Target p99 < 500 ms.
 * - Full resync of all disks (enumerate, probe every disk with blkid, compare with the API), as
 *   loam-node logs it. Target < 5 s for 200 disks.
 * - Cold start: process start to every disk Available.
 * - loam-node RSS with all disks published (peak of samples). Target < 120 MiB.
 *
 * loam-node runs as built by `tsc` (dist/), the way it ships; the benchmark builds first.
 *
 *   npm run bench:ldm [-- --disks 200 --events 120]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { labels, loamResources, localDiskName, type LocalDisk } from '../../src/api/index.js';
import { createKubeClients, Informer, resourcePath } from '../../src/kube/index.js';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { LoopDevices } from '../../test/integration/udev/support/loop.js';

const TARGET_EVENT_P99_MS = 500;
const TARGET_RESYNC_MS = 5000;
const TARGET_RSS_MIB = 120;

const { values } = parseArgs({ options: { disks: { type: 'string', default: '200' }, events: { type: 'string', default: '120' } } });
const diskCount = Number(values.disks);
const eventCount = Number(values.events);
const nodeName = `bench-ldm-${process.pid}`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** loam-node as it ships (compiled JavaScript, `npm run build`), not under tsx, whose compiler would be measured too. */
const entry = 'dist/src/cmd/loam-node.js';
/** The V8 flags loam-node ships with: those of its `#!/usr/bin/env -S node ...` line (BENCH_NODE_FLAGS overrides). */
function shippedNodeFlags(): string[] {
  const shebang = readFileSync('src/cmd/loam-node.ts', 'utf8').split('\n')[0] ?? '';
  const flags = process.env.BENCH_NODE_FLAGS ?? shebang.replace(/^#!\/usr\/bin\/env -S node\s*/, '');
  return flags.split(' ').filter((f) => f.startsWith('--'));
}
const nodeFlags = shippedNodeFlags();

async function main(): Promise<void> {
  console.log(`building (tsc)...; loam-node runs as: node ${[...nodeFlags, entry].join(' ')}`);
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { reject: false });
  const cp = await ControlPlane.start();
  const loops = new LoopDevices();
  const clients = createKubeClients(cp.kubeConfig());
  const informer = new Informer<LocalDisk>(clients.rest, { resource: loamResources.localDisks, labelSelector: `${labels.node}=${nodeName}` });
  let node: ReturnType<typeof execa> | undefined;
  try {
    console.log(`making ${diskCount} loop devices...`);
    const files: string[] = [];
    const devices: string[] = [];
    for (let i = 0; i < diskCount; i++) {
      const file = await loops.sparseFile(16 * 1024 * 1024, `bench-${i}.img`);
      files.push(file);
      // A node of our own per disk (LOOP_CTL_ADD), so cleanup removes it again.
      const device = `/dev/loop${loops.addNode()}`;
      await loops.attach(device, file);
      devices.push(device);
    }
    const names = files.map((f) => localDiskName(nodeName, `loop:${f}`));
    const waiters = new Map<string, { state: string; resolve: (t: number) => void }>();
    const check = (d: LocalDisk): void => {
      const w = waiters.get(d.metadata!.name!);
      if (w && d.status?.state === w.state) {
        waiters.delete(d.metadata!.name!);
        w.resolve(performance.now());
      }
    };
    informer.on('add', check);
    informer.on('update', check);
    informer.start();
    await informer.waitForSync();
    const waitState = (name: string, state: string): Promise<number> => new Promise((resolve) => {
      waiters.set(name, { state, resolve });
      const d = informer.cache.get(name);
      if (d) check(d);
    });

    const resyncMs: number[] = [];
    let log = '';
    const started = performance.now();
    node = execa('node', [...nodeFlags, entry, '--node-name', nodeName, '--kubeconfig', cp.kubeconfigPath, '--include-loop',
      '--resync-seconds', '3600', '--heartbeat-seconds', '30', '--log-level', 'info'], { reject: false, all: true });
    node.all?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-100_000);
      for (const m of chunk.toString().matchAll(/"message":"resync done".*?"ms":(\d+)/g)) resyncMs.push(Number(m[1]));
    });
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, rssMiB(node!.pid!));
      } catch {
        // the process is gone
      }
    }, 200);
    await Promise.all(names.map((n) => waitState(n, 'Available')));
    const coldMs = performance.now() - started;
    console.log(`cold start: ${diskCount} disks Available ${(coldMs / 1000).toFixed(2)} s after loam-node was started`);

    // Event latency: detach / reattach disks in turn, one event at a time.
    const latencies: number[] = [];
    for (let i = 0; i < eventCount; i++) {
      const k = Math.floor(i / 2) % diskCount;
      const detach = i % 2 === 0;
      const expected = waitState(names[k]!, detach ? 'Offline' : 'Available');
      const t0 = performance.now();
      if (detach) await loops.detach(devices[k]!);
      else await loops.attach(devices[k]!, files[k]!);
      latencies.push((await expected) - t0);
    }
    latencies.sort((a, b) => a - b);

    // Full resyncs, triggered by SIGHUP-free means: the agent's own timer is long, so restart with a short one.
    node.kill('SIGTERM');
    await node;
    const rssBefore = peakRss;
    node = execa('node', [...nodeFlags, entry, '--node-name', nodeName, '--kubeconfig', cp.kubeconfigPath, '--include-loop',
      '--resync-seconds', '3', '--heartbeat-seconds', '30', '--log-level', 'info'], { reject: false, all: true });
    node.all?.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/"message":"resync done".*?"ms":(\d+)/g)) resyncMs.push(Number(m[1]));
    });
    const deadline = Date.now() + 60_000;
    while (resyncMs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssMiB(node.pid!));

    const fmt = (n: number): string => n.toFixed(1);
    const p99 = percentile(latencies, 99);
    const worstResync = Math.max(...resyncMs);
    console.log(`event -> LocalDisk state on a watch, ${latencies.length} events: p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(p99)} ms, max ${fmt(latencies.at(-1)!)} ms (target p99 < ${TARGET_EVENT_P99_MS} ms) ${p99 < TARGET_EVENT_P99_MS ? 'OK' : 'MISSED'}`);
    console.log(`full resync of ${diskCount} disks: ${resyncMs.join(', ')} ms (target < ${TARGET_RESYNC_MS} ms) ${worstResync < TARGET_RESYNC_MS ? 'OK' : 'MISSED'}`);
    console.log(`loam-node RSS with ${diskCount} disks: peak ${fmt(Math.max(rssBefore, peakRss))} MiB (target < ${TARGET_RSS_MIB} MiB) ${Math.max(rssBefore, peakRss) < TARGET_RSS_MIB ? 'OK' : 'MISSED'}`);
    console.log(log.split('\n').filter((l) => l.includes('resync done')).slice(-2).join('\n'));
    if (resyncMs.length === 0) console.log(`no resync was logged; loam-node log tail:\n${log.slice(-3000)}`);
  } finally {
    node?.kill('SIGKILL');
    await node?.catch(() => undefined);
    await informer.stop();
    await loops.cleanup().catch((err: unknown) => console.error('loop cleanup:', err));
    const list = await clients.rest.request<{ items: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks), { query: { labelSelector: `${labels.node}=${nodeName}` } }).catch(() => ({ items: [] }));
    for (const d of list.items) await clients.rest.request('DELETE', resourcePath(loamResources.localDisks, undefined, d.metadata!.name!)).catch(() => undefined);
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
