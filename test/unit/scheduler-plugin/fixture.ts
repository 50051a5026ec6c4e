/** A cluster described in plain objects, behind the ClusterView the extender reads. */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from '@kubernetes/client-node';
import type { ClusterView, PoolClass, ReplicaView, StorageNodeView, VolumeView } from '../../../src/scheduler-plugin/view.js';

export const Gi = 2 ** 30;

export class MapView implements ClusterView {
  claims = new Map<string, V1PersistentVolumeClaim>();
  classes = new Map<string, V1StorageClass>();
  pvs = new Map<string, V1PersistentVolume>();
  volumes = new Map<string, VolumeView>();
  nodes = new Map<string, StorageNodeView>();
  replicas: ReplicaView[] = [];
  /** The clock node liveness is judged by; undefined: Date.now. */
  now?: () => number;

  claim(ns: string, name: string): V1PersistentVolumeClaim | undefined { return this.claims.get(`${ns}/${name}`); }
  storageClass(name: string): V1StorageClass | undefined { return this.classes.get(name); }
  persistentVolume(name: string): V1PersistentVolume | undefined { return this.pvs.get(name); }
  volume(name: string): VolumeView | undefined { return this.volumes.get(name); }
  storageNode(node: string): StorageNodeView | undefined { return this.nodes.get(node); }
  storageNodes(): StorageNodeView[] { return [...this.nodes.values()]; }
  replicasOnNode(node: string): ReplicaView[] { return this.replicas.filter((r) => r.spec?.nodeName === node); }
  volumesPlacedOn(node: string): VolumeView[] { return [...this.volumes.values()].filter((v) => v.spec?.replicaNodes?.includes(node)); }
  claimsSelectedFor(node: string): V1PersistentVolumeClaim[] { return [...this.claims.values()].filter((c) => c.metadata?.annotations?.['volume.kubernetes.io/selected-node'] === node); }

  addClass(name: string, poolClass: PoolClass, replicaCount = '1', mode = 'WaitForFirstConsumer'): this {
    this.classes.set(name, { metadata: { name }, provisioner: 'lvm.loam.io', volumeBindingMode: mode, parameters: { poolClass, replicaCount } });
    return this;
  }

  /** A LocalStorageNode whose agent reported just now. */
  addNode(name: string, pools: { mediaClass: PoolClass; totalGi: number; freeGi: number }[], state = 'Ready'): this {
    this.nodes.set(name, {
      metadata: { name },
      spec: { nodeName: name },
      status: { state, lastHeartbeatTime: new Date().toISOString(), pools: pools.map((p) => ({ name: `loam-${p.mediaClass.toLowerCase()}`, mediaClass: p.mediaClass, totalBytes: p.totalGi * Gi, freeBytes: p.freeGi * Gi })) },
    });
    return this;
  }

  addClaim(ns: string, name: string, storageClassName: string, size: string, extra: Partial<V1PersistentVolumeClaim['spec']> = {}): V1PersistentVolumeClaim {
    const pvc: V1PersistentVolumeClaim = { metadata: { namespace: ns, name, uid: `uid-${name}`, annotations: {} }, spec: { storageClassName, resources: { requests: { storage: size } }, ...extra } };
    this.claims.set(`${ns}/${name}`, pvc);
    return pvc;
  }
}

export function podWith(name: string, claims: string[], ns = 'default'): V1Pod {
  return {
    metadata: { name, namespace: ns, uid: `pod-${name}` },
    spec: { containers: [{ name: 'c', image: 'x' }], volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
  };
}
