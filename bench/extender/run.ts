/**
 * bench/extender: filter + prioritize latency of the extender over HTTP, as kube-scheduler calls it,
 * with 500 nodes and 5,000 volumes (and their replicas and claims) in the informer caches, and the
 * extender's RSS. Target: p99 < 5 ms per call.
 *
 * The caches are the production InformerView's own ObjectCaches, filled directly instead of from an
 * API server, so the figure is the request path alone: cache reads, the placement logic, JSON and HTTP.
 */
import http from 'node:http';
import { RestClient } from '../../src/kube/index.js';
import { InformerView } from '../../src/scheduler-plugin/cache-view.js';
import { Extender } from '../../src/scheduler-plugin/extender.js';
import * as k8s from '@kubernetes/client-node';

const nodes = 500;
const volumes = 5000;
const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const Gi = 2 ** 30;

const kc = new k8s.KubeConfig();
kc.loadFromOptions({ clusters: [{ name: 'none', server: 'https://127.0.0.1:1' }], users: [{ name: 'none' }], contexts: [{ name: 'none', cluster: 'none', user: 'none' }], currentContext: 'none' });
const view = new InformerView(new RestClient(kc));
const nodeNames = Array.from({ length: nodes }, (_, i) => `node-${String(i).padStart(3, '0')}`);

view.classes.cache.upsert({ metadata: { name: 'loam-ssd' }, provisioner: 'lvm.loam.io', volumeBindingMode: 'WaitForFirstConsumer', parameters: { poolClass: 'SSD', replicaCount: '1' } } as k8s.V1StorageClass);
view.classes.cache.upsert({ metadata: { name: 'loam-ssd-ha' }, provisioner: 'lvm.loam.io', volumeBindingMode: 'WaitForFirstConsumer', parameters: { poolClass: 'SSD', replicaCount: '2' } } as k8s.V1StorageClass);
for (const [i, name] of nodeNames.entries()) {
  view.nodes.cache.upsert({ metadata: { name }, spec: { nodeName: name }, status: { state: 'Ready', lastHeartbeatTime: new Date().toISOString(), pools: [
    { name: 'loam-ssd', mediaClass: 'SSD', totalBytes: 2000 * Gi, freeBytes: (500 + (i % 700)) * Gi },
    { name: 'loam-hdd', mediaClass: 'HDD', totalBytes: 8000 * Gi, freeBytes: 4000 * Gi },
  ] } });
}
for (let v = 0; v < volumes; v++) {
  const name = `pvc-vol-${v}`;
  const node = nodeNames[v % nodes]!;
  const ns = `bench`;
  view.volumes.cache.upsert({ metadata: { name }, spec: { poolClass: 'SSD', capacityBytes: 10 * Gi, replicaCount: 1, replicaNodes: [node] }, status: { state: 'Ready', replicas: [{ nodeName: node, state: 'Ready', synced: true }] } });
  view.replicas.cache.upsert({ metadata: { name: `${name}-${node}` }, spec: { volumeName: name, nodeName: node, poolName: 'loam-ssd', capacityBytes: 10 * Gi }, status: { allocatedBytes: 10 * Gi } });
  view.pvs.cache.upsert({ metadata: { name }, spec: { csi: { driver: 'lvm.loam.io', volumeHandle: name } } } as k8s.V1PersistentVolume);
  view.claims.cache.upsert({ metadata: { namespace: ns, name: `data-${v}`, uid: `uid-${v}` }, spec: { storageClassName: 'loam-ssd', volumeName: name, resources: { requests: { storage: '10Gi' } } } } as k8s.V1PersistentVolumeClaim);
}
// The pods being placed: one bound claim (its data), two new claims and one new two-replica claim.
const podCount = 200;
for (let p = 0; p < podCount; p++) {
  for (const [suffix, sc, size] of [['a', 'loam-ssd', '20Gi'], ['b', 'loam-ssd', '5Gi'], ['ha', 'loam-ssd-ha', '10Gi']] as const) {
    view.claims.cache.upsert({ metadata: { namespace: 'bench', name: `new-${p}-${suffix}`, uid: `new-uid-${p}-${suffix}` }, spec: { storageClassName: sc, resources: { requests: { storage: size } } } } as k8s.V1PersistentVolumeClaim);
  }
}
(view as unknown as { hasSynced(): boolean }).hasSynced = () => true;

/** A pod with new claims (a, b, and a two-replica one), and with an existing volume too when `withData`. */
function pod(p: number, withData: boolean): k8s.V1Pod {
  return {
    metadata: { namespace: 'bench', name: `pod-${p}`, uid: `pod-uid-${p}` },
    spec: { containers: [{ name: 'c', image: 'x' }], volumes: [
      ...(withData ? [{ name: 'old', persistentVolumeClaim: { claimName: `data-${p}` } }] : []),
      ...['a', 'b', 'ha'].map((s) => ({ name: s, persistentVolumeClaim: { claimName: `new-${p}-${s}` } })),
    ] },
  };
}

const extender = new Extender({ view, policy: 'binpack' });
const { port } = await extender.listen(0);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(path: string, body: unknown): Promise<{ ms: number; json: unknown }> {
  const text = JSON.stringify(body);
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, json: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (x: number): string => x.toFixed(3);
let met = true;

/** Runs `requests` filter+prioritize pairs (after 100 warm-up) and prints p50/p99 of each verb. */
async function scenario(title: string, withData: boolean, expectPassing: (n: number) => boolean): Promise<void> {
  const filterMs: number[] = [];
  const prioritizeMs: number[] = [];
  for (let i = 0; i < requests + 100; i++) {
    const p = i % podCount;
    const f = await post('/scheduler/filter', { Pod: pod(p, withData), NodeNames: nodeNames });
    const passed = (f.json as { NodeNames: string[] }).NodeNames;
    if (!expectPassing(passed.length)) throw new Error(`${title}: unexpected number of nodes passing: ${passed.length}`);
    const s = await post('/scheduler/prioritize', { Pod: pod(p, withData), NodeNames: passed });
    if (i >= 100) {
      filterMs.push(f.ms);
      prioritizeMs.push(s.ms);
    }
  }
  console.log(`  ${title}`);
  console.log(`    filter      p50 ${fmt(pct(filterMs, 50))} ms  p99 ${fmt(pct(filterMs, 99))} ms`);
  console.log(`    prioritize  p50 ${fmt(pct(prioritizeMs, 50))} ms  p99 ${fmt(pct(prioritizeMs, 99))} ms`);
  met &&= pct(filterMs, 99) < 5 && pct(prioritizeMs, 99) < 5;
}

console.log(`extender bench: ${nodes} nodes, ${volumes} volumes (+ replicas, PVs, claims) in the caches, ${requests} filter+prioritize pairs per scenario`);
await scenario('pod with an existing volume and three new claims (one two-replica)', true, (n) => n === 1);
await scenario('pod with three new claims (one two-replica), all 500 nodes candidates', false, (n) => n > 0);
await extender.close();
agent.destroy();
const rssMiB = process.memoryUsage().rss / 2 ** 20;
console.log(`  RSS ${rssMiB.toFixed(0)} MiB`);
console.log(`  target: p99 < 5 ms per call -> ${met ? 'met' : 'NOT met'}`);
process.exit(met ? 0 : 1);
