/**
 * Benchmark of volume placement: LocalVolumes placed per second by the VolumePlacer against 100
 * LocalStorageNodes (and their Nodes) in a real API server (tools/testenv control plane).
 *
 * N LocalVolumes (default 500: 80 % one replica, 20 % two; half with a preferred node) are created
 * as fast as the API server takes them (32 in flight). A volume counts as placed when a watch has
 * shown its spec.replicaNodes set and every one of its replicas created. Prints placed/s over the
 * whole burst, p50/p99/max time from create to placed, and the target.
 *
 * The placer runs in this process (the same code loam-controller runs), so the two cores of a small
 * machine are shared by it, the load generator and the API server: a conservative figure.
 *
 *   npm run bench:placement [-- --volumes 500 --nodes 100]
 */
import { parseArgs } from 'node:util';
import { apiVersion, formatCapacity, labels, loamResources, type LocalVolume, type LocalVolumeReplica } from '../../src/api/index.js';
import { createKubeClients, Informer, patchStatus, resourcePath, type KubeClients } from '../../src/kube/index.js';
import { setLogLevel } from '../../src/common/logger.js';
import { VolumePlacer } from '../../src/localstorage/volume-placer.js';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../tools/testenv/nodes.js';

const TARGET_PER_SECOND = 50;
const Gi = 2 ** 30;
const { values } = parseArgs({ options: { volumes: { type: 'string', default: '500' }, nodes: { type: 'string', default: '100' } } });
const volumeCount = Number(values.volumes);
const nodeCount = Number(values.nodes);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function addNodes(clients: KubeClients, cp: ControlPlane, names: string[]): Promise<void> {
  await pool(names, 16, async (name) => {
    await createReadyNode(cp.kubeConfig(), name);
    await clients.rest.request('POST', resourcePath(loamResources.localStorageNodes), { body: { apiVersion, kind: 'LocalStorageNode', metadata: { name, labels: { [labels.node]: name } }, spec: { nodeName: name } } });
    const freeBytes = (500 + (names.indexOf(name) % 500)) * Gi;
    await patchStatus(clients, loamResources.localStorageNodes, { name }, {
      state: 'Ready', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      pools: [{ name: 'loam-ssd', vgName: 'loam-ssd', mediaClass: 'SSD', totalBytes: 2000 * Gi, freeBytes, free: formatCapacity(freeBytes), total: formatCapacity(2000 * Gi), volumeCount: 0, disks: [] }],
    });
  });
}

/** Counts the writes (anything but GET) the placer sends, by kind of request. */
function countWrites(clients: KubeClients): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (what: string): void => void counts.set(what, (counts.get(what) ?? 0) + 1);
  const request = clients.rest.request.bind(clients.rest);
  clients.rest.request = <T>(method: string, path: string, opts?: Parameters<typeof request>[2]): Promise<T> => {
    if (method !== 'GET') bump(`${method} ${path.split('/').filter((x) => /^[a-z]+$/.test(x) && x !== 'apis' && x !== 'api').pop()}`);
    return request<T>(method, path, opts);
  };
  const status = clients.customObjects.patchClusterCustomObjectStatus.bind(clients.customObjects);
  clients.customObjects.patchClusterCustomObjectStatus = (...args: Parameters<typeof status>) => {
    bump('PATCH status');
    return status(...args);
  };
  return counts;
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const cp = await ControlPlane.start();
  const clients = createKubeClients(cp.kubeConfig());
  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
  const volumes = new Informer<LocalVolume>(clients.rest, { resource: loamResources.localVolumes });
  const replicas = new Informer<LocalVolumeReplica>(clients.rest, { resource: loamResources.localVolumeReplicas });
  // The placer gets its own clients, whose writes are counted (the load generator's are not).
  const placerClients = createKubeClients(cp.kubeConfig());
  const writes = countWrites(placerClients);
  const placer = new VolumePlacer({ clients: placerClients, identity: 'bench', workers: Number(process.env.BENCH_WORKERS ?? 8) });
  try {
    const setupStarted = performance.now();
    await addNodes(clients, cp, nodeNames);
    console.log(`placement bench: ${nodeCount} Nodes + LocalStorageNodes written in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; ${volumeCount} LocalVolumes to place`);
    await placer.start();
    volumes.start();
    replicas.start();
    await Promise.all([volumes.waitForSync(30_000), replicas.waitForSync(30_000)]);

    const createdAt = new Map<string, number>();
    const placedAt = new Map<string, number>();
    const replicaSeen = new Map<string, Set<string>>();
    let allPlaced!: () => void;
    const done = new Promise<void>((resolve) => (allPlaced = resolve));
    const check = (name: string): void => {
      const v = volumes.cache.get(name);
      const nodes = v?.spec.replicaNodes ?? [];
      if (placedAt.has(name) || nodes.length === 0 || nodes.some((n) => !replicaSeen.get(name)?.has(n))) return;
      placedAt.set(name, performance.now());
      if (placedAt.size === volumeCount) allPlaced();
    };
    volumes.on('update', (v) => check(v.metadata.name!));
    replicas.on('add', (r) => {
      const set = replicaSeen.get(r.spec.volumeName) ?? new Set<string>();
      replicaSeen.set(r.spec.volumeName, set.add(r.spec.nodeName));
      check(r.spec.volumeName);
    });

    const specs = Array.from({ length: volumeCount }, (_, i) => ({
      name: `pvc-bench-${i}`,
      spec: {
        poolClass: 'SSD' as const, capacityBytes: (1 + (i % 10)) * Gi, replicaCount: i % 5 === 0 ? 2 : 1,
        ...(i % 2 === 0 ? { accessibility: { preferredNodes: [nodeNames[(i * 7) % nodeCount]!] } } : {}),
      },
    }));
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await pool(specs, 32, async ({ name, spec }) => {
      createdAt.set(name, performance.now());
      await clients.rest.request('POST', resourcePath(loamResources.localVolumes), { body: { apiVersion, kind: 'LocalVolume', metadata: { name }, spec } });
    });
    const createdIn = performance.now() - started;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`only ${placedAt.size} of ${volumeCount} placed after 120 s`)), 120_000)))]);
    clearTimeout(timer);
    const elapsed = Math.max(...placedAt.values()) - started;
    const cpu = process.cpuUsage(cpuBefore);
    const latencies = [...placedAt].map(([n, t]) => t - createdAt.get(n)!).sort((a, b) => a - b);
    const rate = volumeCount / (elapsed / 1000);
    const twoOnDistinct = specs.filter((s) => s.spec.replicaCount === 2).every((s) => new Set(volumes.cache.get(s.name)?.spec.replicaNodes).size === 2);
    const preferredHonoured = specs.filter((s) => s.spec.accessibility).every((s) => volumes.cache.get(s.name)?.spec.replicaNodes?.[0] === s.spec.accessibility!.preferredNodes[0]);
    console.log(`  created ${volumeCount} LocalVolumes in ${(createdIn / 1000).toFixed(2)} s; all placed (replicaNodes set, replicas created) ${(elapsed / 1000).toFixed(2)} s after the first create`);
    console.log(`  placed: ${rate.toFixed(0)} volumes/s (${replicas.cache.size} replicas)`);
    console.log(`  create -> placed: p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`);
    const totalWrites = [...writes.values()].reduce((x, y) => x + y, 0);
    console.log(`  API server in this run: ${(volumeCount / (createdIn / 1000)).toFixed(0)} creates/s from the load generator (32 in flight)`);
    console.log(`  placer writes: ${(totalWrites / volumeCount).toFixed(2)} per volume (${[...writes].map(([k, v]) => `${k} ${v}`).join(', ')})`);
    console.log(`  CPU of this process (placer + load generator + watches) during the burst: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ${((cpu.user + cpu.system) / 1000 / volumeCount).toFixed(1)} ms per volume`);
    console.log(`  checks: two-replica volumes on two distinct nodes: ${twoOnDistinct}; preferred node taken: ${preferredHonoured}`);
    console.log('  comparison: no published placement rate of HwameiStor\'s LocalVolume controller is known to us');
    console.log(`  target: > ${TARGET_PER_SECOND} volumes/s -> ${rate > TARGET_PER_SECOND && twoOnDistinct && preferredHonoured ? 'met' : 'NOT met'}`);
    process.exitCode = rate > TARGET_PER_SECOND && twoOnDistinct && preferredHonoured ? 0 : 1;
  } finally {
    await placer.stop();
    await Promise.all([volumes.stop(), replicas.stop()]);
    // The whole control plane (and its etcd data) goes; nothing to delete one by one.
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
