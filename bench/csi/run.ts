/**
 * Benchmark of the CSI driver on real LVM in a VM (software emulation, one vCPU): the e2e setup of
 * test/e2e/csi-provisioning.test.ts (host control plane + kube-controller-manager, loam-controller
 * serving the Controller service on a host socket, loam-node in the VM, the real external-provisioner).
 *
 * - CreateVolume latency: N calls one after another on the controller socket, each timed from the
 *   call until its answer (the LV exists in the guest and the volume is Ready). Target p50 < 1 s.
 *   For comparison, HwameiStor's volume controller polls every 2 s.
 * - Time for M PVCs (WaitForFirstConsumer, node already selected) created at once to be all Bound
 *   through the external-provisioner.
 *
 *   npm run bench:csi [-- --volumes 50 --pvcs 100]
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { CoreV1Api, StorageV1Api } from '@kubernetes/client-node';
import { setLogLevel } from '../../src/common/logger.js';
import { csiGrpcObject } from '../../src/csi/server.js';
import { topologyKey } from '../../src/csi/validate.js';
import type { ControllerClient } from '../../src/csi/generated/csi/v1/Controller.js';
import { waitFor } from '../../tools/testenv/wait.js';
import { ensureInitramfs } from '../../test/e2e/harness/initramfs.js';
import { ensureKernel } from '../../test/e2e/harness/kernel.js';
import { endRun } from '../../test/e2e/harness/run.js';
import { CsiCluster } from '../../test/sanity/csi-cluster.js';
import { ProvisioningSidecars, registerDriverOnNode } from '../../test/sanity/sidecars.js';

const TARGET_CREATE_P50_MS = 1000;
const HWAMEISTOR_POLL_MS = 2000;
const MiB = 1024 ** 2;
const nodeName = 'bench-csi';
const namespace = 'default';

const { values } = parseArgs({ options: { volumes: { type: 'string', default: '50' }, pvcs: { type: 'string', default: '100' } } });
const volumeCount = Number(values.volumes);
const pvcCount = Number(values.pvcs);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function unary<Req, Res>(client: ControllerClient, method: 'CreateVolume' | 'DeleteVolume', req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client[method] as unknown as (r: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void).call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function createVolumeLatencies(cluster: CsiCluster): Promise<number[]> {
  const client = new (csiGrpcObject().csi.v1.Controller)(`unix:${cluster.controllerSocket}`, grpc.credentials.createInsecure());
  const topology = { segments: { [topologyKey]: nodeName } };
  const latencies: number[] = [];
  const ids: string[] = [];
  try {
    for (let i = 0; i < volumeCount; i++) {
      const started = performance.now();
      const res = await unary<object, { volume: { volume_id: string } }>(client, 'CreateVolume', {
        name: `bench-${process.pid}-${i}`,
        capacity_range: { required_bytes: String(8 * MiB) },
        volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
        parameters: { poolClass: cluster.mediaClass },
        accessibility_requirements: { requisite: [topology], preferred: [topology] },
      });
      latencies.push(performance.now() - started);
      ids.push(res.volume.volume_id);
    }
    const lvs = (await cluster.guestLvs()).filter((lv) => ids.includes(lv.name)).length;
    if (lvs !== volumeCount) throw new Error(`expected ${volumeCount} LVs in the guest, found ${lvs}`);
    for (const id of ids) await unary(client, 'DeleteVolume', { volume_id: id });
  } finally {
    client.close();
  }
  return latencies;
}

async function pvcsToBound(cluster: CsiCluster): Promise<{ boundMs: number; goneMs: number }> {
  const kc = cluster.cp.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(StorageV1Api).createStorageClass({
    body: { metadata: { name: 'loam-bench' }, provisioner: 'lvm.loam.io', parameters: { poolClass: cluster.mediaClass }, volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true, reclaimPolicy: 'Delete' },
  });
  const names = Array.from({ length: pvcCount }, (_, i) => `bench-${i}`);
  const started = performance.now();
  await Promise.all(names.map((name) => core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name, annotations: { 'volume.kubernetes.io/selected-node': nodeName } },
      spec: { storageClassName: 'loam-bench', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Mi' } } },
    },
  })));
  await waitFor(`${pvcCount} PVCs to be Bound`, async () => (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.filter((p) => p.status?.phase === 'Bound').length === pvcCount, 900_000, 500);
  const boundMs = performance.now() - started;
  for (const name of names) await core.deleteNamespacedPersistentVolumeClaim({ name, namespace });
  await waitFor('every PV and LV to be gone', async () => (await core.listPersistentVolume()).items.length === 0 && (await cluster.guestLvs()).length === 0, 900_000, 1000);
  return { boundMs, goneMs: performance.now() - started - boundMs };
}

async function main(): Promise<void> {
  if (!process.env.LOAM_LOG_LEVEL) setLogLevel('warn');
  await ensureInitramfs(await ensureKernel());
  console.log('starting the control plane, the VM, loam-controller (host) and loam-node (guest)...');
  const cluster = await CsiCluster.start({ nodeName, poolDiskBytes: 4096 * MiB, controller: 'host' });
  let sidecars: ProvisioningSidecars | undefined;
  try {
    await cluster.claimPoolDisk();
    console.log(`pool ${cluster.vgName} ready in the guest`);
    const latencies = await createVolumeLatencies(cluster);
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);

    await registerDriverOnNode(cluster.cp, nodeName);
    sidecars = await ProvisioningSidecars.start(cluster.cp, cluster.controllerSocket);
    const pvcs = await pvcsToBound(cluster);

    console.log(`\nCreateVolume on real LVM in a VM (TCG, 1 vCPU), ${volumeCount} volumes one after another:`);
    console.log(`  p50 ${p50.toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
    console.log(`  HwameiStor for comparison: polls every ${HWAMEISTOR_POLL_MS} ms, so one poll alone is up to ${HWAMEISTOR_POLL_MS} ms`);
    console.log(`${pvcCount} PVCs created at once → all Bound through the external-provisioner: ${(pvcs.boundMs / 1000).toFixed(1)} s (deleted, PVs and LVs gone, in ${(pvcs.goneMs / 1000).toFixed(1)} s)`);
    console.log(`target: CreateVolume p50 < 1 s — ${p50 < TARGET_CREATE_P50_MS ? 'met' : 'NOT met'}`);
    if (p50 >= TARGET_CREATE_P50_MS) process.exitCode = 1;
  } catch (err) {
    console.error(`${(err as Error).stack}\n${await cluster.logs()}\n${sidecars?.logs() ?? ''}`);
    process.exitCode = 1;
  } finally {
    await sidecars?.stop();
    await cluster.stop();
    await endRun();
  }
}

await main();
