/**
 * Shared pieces of the VolumePlacer's integration tests: LocalStorageNodes written the way a node
 * agent writes them (object, then status with a heartbeat), LocalVolumes written the way the CSI
 * controller writes them, the node agent's side of a replica played by the test, and readers of
 * what a user looks at. Process helpers and events come from the claim binder's support.
 */
import { apiVersion, formatCapacity, labels, loamResources, nodeLabelValue, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica, type LocalVolumeSpec, type MediaClass } from '../../../src/api/index.js';
import { coreResources, isNotFound, mergePatch, patchStatus, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { VolumePlacer, type VolumePlacerOptions } from '../../../src/localstorage/volume-placer.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { clients, suffix } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';

export const Gi = 2 ** 30;

export interface PoolInput {
  mediaClass: MediaClass;
  freeBytes: number;
  totalBytes?: number;
}

const vgOf = (c: MediaClass): string => `loam-${c.toLowerCase()}`;

function storageStatus(pools: PoolInput[], heartbeat: Date, state: 'Ready' | 'NotReady'): Record<string, unknown> {
  return {
    state,
    lastHeartbeatTime: heartbeat.toISOString().replace(/\.\d+Z$/, 'Z'),
    pools: pools.map((p) => ({
      name: vgOf(p.mediaClass), vgName: vgOf(p.mediaClass), mediaClass: p.mediaClass,
      freeBytes: p.freeBytes, totalBytes: p.totalBytes ?? p.freeBytes, free: formatCapacity(p.freeBytes), total: formatCapacity(p.totalBytes ?? p.freeBytes), volumeCount: 0, disks: [],
    })),
  };
}

/** Creates a LocalStorageNode as a node agent does: the object, then its status (with a heartbeat, `heartbeat` ago). */
export async function createStorageNode(c: KubeClients, node: string, pools: PoolInput[], opts: { heartbeat?: Date; state?: 'Ready' | 'NotReady' } = {}): Promise<LocalStorageNode> {
  const body = { apiVersion, kind: 'LocalStorageNode', metadata: { name: node, labels: { [labels.node]: nodeLabelValue(node) } }, spec: { nodeName: node } };
  await c.rest.request('POST', resourcePath(loamResources.localStorageNodes), { body, query: { fieldManager: 'loam-node', fieldValidation: 'Strict' } });
  return patchStatus<LocalStorageNode>(c, loamResources.localStorageNodes, { name: node }, storageStatus(pools, opts.heartbeat ?? new Date(), opts.state ?? 'Ready'), { fieldManager: 'loam-node' });
}

/** Rewrites a node's pools, as its agent does after lvcreate or a new disk. */
export async function reportPools(c: KubeClients, node: string, pools: PoolInput[]): Promise<void> {
  await patchStatus(c, loamResources.localStorageNodes, { name: node }, storageStatus(pools, new Date(), 'Ready'), { fieldManager: 'loam-node' });
}

/** Creates a LocalVolume as the CSI controller does (named pvc-<something>). */
export async function createVolume(c: KubeClients, name: string, spec: LocalVolumeSpec): Promise<LocalVolume> {
  const body: LocalVolume = { apiVersion, kind: 'LocalVolume', metadata: { name }, spec };
  return c.rest.request<LocalVolume>('POST', resourcePath(loamResources.localVolumes), { body, query: { fieldValidation: 'Strict' } });
}

export async function getVolume(c: KubeClients, name: string): Promise<LocalVolume | undefined> {
  try {
    return await c.rest.request<LocalVolume>('GET', resourcePath(loamResources.localVolumes, undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function replicasOf(c: KubeClients, volume: string): Promise<LocalVolumeReplica[]> {
  const list = await c.rest.request<{ items: LocalVolumeReplica[] }>('GET', resourcePath(loamResources.localVolumeReplicas), { query: { labelSelector: `${labels.volume}=${volume}` } });
  return list.items;
}

export async function allReplicas(c: KubeClients): Promise<LocalVolumeReplica[]> {
  return (await c.rest.request<{ items: LocalVolumeReplica[] }>('GET', resourcePath(loamResources.localVolumeReplicas))).items;
}

/** Waits until the volume satisfies `check`; the failure names the last status seen. */
export async function waitForVolume(c: KubeClients, name: string, what: string, check: (v: LocalVolume) => boolean, timeoutMs = 20_000): Promise<LocalVolume> {
  let last: LocalVolume | undefined;
  try {
    await waitFor(`volume ${name} ${what}`, async () => {
      last = await getVolume(c, name);
      return last !== undefined && check(last);
    }, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last spec.replicaNodes ${JSON.stringify(last?.spec.replicaNodes)}, status ${JSON.stringify(last?.status)}`, { cause: err });
  }
  return last!;
}

/** Plays the node agent: the LV exists (rounded up to 4 MiB extents) and the replica is Ready. */
export async function agentReady(c: KubeClients, replica: string, allocatedBytes: number): Promise<void> {
  const rounded = Math.ceil(allocatedBytes / (4 * 2 ** 20)) * 4 * 2 ** 20;
  await patchStatus(c, loamResources.localVolumeReplicas, { name: replica }, { state: 'Ready', allocatedBytes: rounded, capacity: formatCapacity(rounded), synced: true, devicePath: `/dev/loam-ssd/${replica}` }, { fieldManager: 'loam-node' });
}

/** Plays the node agent after lvremove: drops the replica's finalizer. */
export async function agentRemoved(c: KubeClients, replica: string): Promise<void> {
  await mergePatch(c, loamResources.localVolumeReplicas, { name: replica }, { metadata: { finalizers: null } }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** Deletes every volume, replica and LocalStorageNode named, stripping finalizers so nothing is left for the next test. */
export async function cleanup(c: KubeClients, volumes: string[], storageNodes: string[]): Promise<void> {
  for (const name of volumes) {
    await c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, name)).catch(() => undefined);
    for (const r of await replicasOf(c, name)) {
      await c.rest.request('DELETE', resourcePath(loamResources.localVolumeReplicas, undefined, r.metadata.name)).catch(() => undefined);
      await agentRemoved(c, r.metadata.name!);
    }
    await mergePatch(c, loamResources.localVolumes, { name }, { metadata: { finalizers: null } }).catch(() => undefined);
  }
  for (const name of storageNodes) {
    await c.rest.request('DELETE', resourcePath(loamResources.localStorageNodes, undefined, name)).catch(() => undefined);
  }
  volumes.length = 0;
  storageNodes.length = 0;
}

/** One VolumePlacer for a describe block, and what its tests made, removed after each test. */
export interface PlacerFixture {
  /** A suffix unique to this run, for names. */
  readonly run: string;
  readonly c: KubeClients;
  readonly volumes: string[];
  readonly storageNodes: string[];
  readonly nodes: string[];
  /** A Ready Node `name` and its LocalStorageNode with `pools` (heartbeat `heartbeat`, default now). */
  node(name: string, pools: PoolInput[], heartbeat?: Date): Promise<string>;
}

/** Registers the mocha hooks that start a VolumePlacer before the block, clean up after each test and stop it after the block. */
export function placerFixture(opts: Omit<VolumePlacerOptions, 'clients' | 'identity'> = {}): PlacerFixture {
  const run = suffix();
  let placer: VolumePlacer | undefined;
  const fixture = {
    run, volumes: [] as string[], storageNodes: [] as string[], nodes: [] as string[],
    c: undefined as unknown as KubeClients,
    async node(name: string, pools: PoolInput[], heartbeat?: Date): Promise<string> {
      fixture.nodes.push(name);
      fixture.storageNodes.push(name);
      await createReadyNode(controlPlane().kubeConfig(), name);
      await createStorageNode(fixture.c, name, pools, { heartbeat });
      return name;
    },
  };
  before(async () => {
    fixture.c = clients();
    placer = new VolumePlacer({ ...opts, clients: fixture.c, identity: `test-${run}` });
    await placer.start();
  });
  afterEach(async () => {
    await cleanup(fixture.c, fixture.volumes, fixture.storageNodes);
    for (const n of fixture.nodes.splice(0)) await fixture.c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, n)).catch(() => undefined);
  });
  after(async () => {
    await placer?.stop();
  });
  return fixture;
}
