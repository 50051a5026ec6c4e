/**
 * What a pod asks of Loam: for each of its PVCs of a Loam StorageClass, either the nodes that already
 * hold its data (bound claims) or the bytes it still needs in a pool class (unbound
 * WaitForFirstConsumer claims). Pods without Loam claims have no demand and pass through untouched.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { nodeOfLabelValue } from '../api/index.js';
import { parseQuantityBytes } from '../common/quantity.js';
import { driverName, topologyKey, type ClusterView, type PoolClass } from './view.js';

export interface BoundClaim {
  key: string;
  volumeName: string;
  /** Nodes holding a replica; the synced ones are preferred by the score. */
  nodes: string[];
  syncedNodes: string[];
}

export interface UnboundClaim {
  key: string;
  uid: string;
  poolClass: PoolClass;
  bytes: number;
  replicaCount: 1 | 2;
}

export interface PodDemand {
  bound: BoundClaim[];
  unbound: UnboundClaim[];
  /** A reason the pod cannot be placed anywhere yet (a missing claim, a bad class); fails every node. */
  blocker?: string;
}

const poolClasses: readonly PoolClass[] = ['HDD', 'SSD', 'NVMe'];

export function podDemand(pod: V1Pod, view: ClusterView): PodDemand {
  const demand: PodDemand = { bound: [], unbound: [] };
  const namespace = pod.metadata?.namespace ?? 'default';
  for (const vol of pod.spec?.volumes ?? []) {
    const claimName = vol.persistentVolumeClaim?.claimName ?? (vol.ephemeral ? `${pod.metadata?.name}-${vol.name}` : undefined);
    if (!claimName) continue;
    const key = `${namespace}/${claimName}`;
    const pvc = view.claim(namespace, claimName);
    if (!pvc) {
      // A claim the scheduler's own VolumeBinding plugin will also wait for; say so rather than guess.
      demand.blocker ??= `persistentvolumeclaim "${key}" not found`;
      continue;
    }
    const result = classify(pvc, key, view);
    if (typeof result === 'string') demand.blocker ??= result;
    else if (result && 'nodes' in result) demand.bound.push(result);
    else if (result) demand.unbound.push(result);
  }
  return demand;
}

/** True when the pod uses at least one Loam volume. */
export function hasDemand(d: PodDemand): boolean {
  return d.bound.length > 0 || d.unbound.length > 0 || d.blocker !== undefined;
}

function classify(pvc: V1PersistentVolumeClaim, key: string, view: ClusterView): BoundClaim | UnboundClaim | string | undefined {
  const volumeName = pvc.spec?.volumeName;
  if (volumeName) {
    const pv = view.persistentVolume(volumeName);
    if (!pv) return isLoamClass(pvc, view) ? `persistentvolume "${volumeName}" of claim "${key}" not found` : undefined;
    if (pv.spec?.csi?.driver !== driverName) return undefined;
    return boundClaim(key, pv, view);
  }
  return unboundClaimOf(pvc, key, view);
}

/** The demand of an unbound claim of a Loam WaitForFirstConsumer class; a string says what is wrong with it. */
export function unboundClaimOf(pvc: V1PersistentVolumeClaim, key: string, view: ClusterView): UnboundClaim | string | undefined {
  const sc = pvc.spec?.storageClassName ? view.storageClass(pvc.spec.storageClassName) : undefined;
  if (!sc || sc.provisioner !== driverName) return undefined;
  // Immediate binding is provisioned without the scheduler; the VolumeBinding plugin waits for it.
  if (sc.volumeBindingMode !== 'WaitForFirstConsumer') return undefined;
  const poolClass = sc.parameters?.poolClass ?? 'HDD';
  if (!poolClasses.includes(poolClass as PoolClass)) return `storageclass "${sc.metadata?.name}" has poolClass "${poolClass}"; use HDD, SSD or NVMe`;
  const replicas = sc.parameters?.replicaCount ?? '1';
  if (replicas !== '1' && replicas !== '2') return `storageclass "${sc.metadata?.name}" has replicaCount "${replicas}"; use "1" or "2"`;
  const request = pvc.spec?.resources?.requests?.storage;
  if (request === undefined) return `claim "${key}" requests no storage`;
  let bytes: number;
  try {
    bytes = parseQuantityBytes(request);
  } catch (err) {
    return `claim "${key}": ${(err as Error).message}`;
  }
  return { key, uid: pvc.metadata?.uid ?? key, poolClass: poolClass as PoolClass, bytes, replicaCount: replicas === '2' ? 2 : 1 };
}

function isLoamClass(pvc: V1PersistentVolumeClaim, view: ClusterView): boolean {
  const name = pvc.spec?.storageClassName;
  return name !== undefined && view.storageClass(name)?.provisioner === driverName;
}

function boundClaim(key: string, pv: V1PersistentVolume, view: ClusterView): BoundClaim {
  const volumeName = pv.spec!.csi!.volumeHandle;
  const lv = view.volume(volumeName);
  if (lv) {
    const replicas = lv.status?.replicas ?? [];
    const nodes = lv.spec?.replicaNodes?.length ? lv.spec.replicaNodes : replicas.map((r) => r.nodeName ?? '').filter(Boolean);
    const syncedNodes = replicas.filter((r) => r.synced && r.nodeName).map((r) => r.nodeName!);
    return { key, volumeName, nodes, syncedNodes: replicas.length ? syncedNodes : nodes };
  }
  // The LocalVolume is not in the cache (yet): the PV's node affinity names the replica nodes, as
  // topology values (a node name too long for a label value is shortened: see src/csi topologyOf).
  const nodes = (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [])
    .flatMap((t) => t.matchExpressions ?? [])
    .filter((e) => e.key === topologyKey && e.operator === 'In')
    .flatMap((e) => e.values ?? [])
    .map((value) => nodeOfLabelValue(value, (n) => view.storageNode(n) !== undefined, () => view.storageNodes().map((s) => s.spec?.nodeName ?? s.metadata?.name ?? '')));
  return { key, volumeName, nodes, syncedNodes: nodes };
}
