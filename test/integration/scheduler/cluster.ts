/**
 * What the scheduler tests run and create: the real kube-scheduler with the extender in this
 * process, Loam-labelled nodes, LocalStorageNodes with pools, claims, pods.
 */
import { readFile } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import { createKubeClients, patchStatus, type KubeClients } from '../../../src/kube/index.js';
import { loamResources } from '../../../src/api/resources.js';
import { InformerView } from '../../../src/scheduler-plugin/cache-view.js';
import { Extender } from '../../../src/scheduler-plugin/extender.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';

export const Gi = 2 ** 30;

export class SchedulerFixture {
  readonly core: k8s.CoreV1Api;
  readonly storage: k8s.StorageV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly clients: KubeClients;
  private readonly nodes: string[] = [];
  private readonly namespaces: string[] = [];

  constructor(readonly kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.storage = kc.makeApiClient(k8s.StorageV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.clients = createKubeClients(kc);
  }

  /** A schedulable Node with a LocalStorageNode whose pools are Ready with the given free space, its agent's heartbeat `heartbeat` (default now). */
  async storageNode(name: string, pools: { mediaClass: 'HDD' | 'SSD' | 'NVMe'; totalGi: number; freeGi: number }[], heartbeat = new Date()): Promise<void> {
    await createReadyNode(this.kc, name, { 'topology.loam.io/node': name });
    this.nodes.push(name);
    await this.custom.createClusterCustomObject({
      group: 'loam.io', version: 'v1alpha1', plural: 'localstoragenodes',
      body: { apiVersion: 'loam.io/v1alpha1', kind: 'LocalStorageNode', metadata: { name }, spec: { nodeName: name } },
    });
    await patchStatus(this.clients, loamResources.localStorageNodes, { name }, {
      state: 'Ready',
      lastHeartbeatTime: heartbeat.toISOString().replace(/\.\d+Z$/, 'Z'),
      pools: pools.map((p) => ({
        name: `loam-${p.mediaClass.toLowerCase()}`, mediaClass: p.mediaClass, vgName: `loam-${p.mediaClass.toLowerCase()}`,
        totalBytes: p.totalGi * Gi, freeBytes: p.freeGi * Gi, volumeCount: 0, disks: [],
      })),
    });
  }

  async namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
    await this.core.createNamespace({ body: { metadata: { name, labels } } });
    this.namespaces.push(name);
    return name;
  }

  async claim(namespace: string, name: string, storageClassName: string, size: string): Promise<void> {
    await this.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } } } },
    });
  }

  async pod(namespace: string, name: string, claims: string[], schedulerName?: string): Promise<void> {
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          schedulerName,
          containers: [{ name: 'app', image: 'registry.invalid/none' }],
          volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
        },
      },
    });
  }

  /** The agent of a storage node reports again (a fresh heartbeat). */
  async heartbeat(name: string): Promise<void> {
    await patchStatus(this.clients, loamResources.localStorageNodes, { name }, { lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
  }

  /** The message of the pod's FailedScheduling events once one carries the extender's reason (`loam:`). */
  async loamFailure(namespace: string, pod: string): Promise<string> {
    let message = '';
    await waitFor(`a FailedScheduling event of ${namespace}/${pod} with the extender's reason`, async () => {
      const events = await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod},reason=FailedScheduling` });
      message = events.items.map((e) => e.message ?? '').join('\n');
      return message.includes('loam:');
    }, 30_000);
    return message;
  }

  /** The node the scheduler chose for a claim (the selected-node annotation its VolumeBinding plugin writes). */
  async selectedNode(namespace: string, claim: string): Promise<string | undefined> {
    const pvc = await this.core.readNamespacedPersistentVolumeClaim({ namespace, name: claim });
    return pvc.metadata?.annotations?.['volume.kubernetes.io/selected-node'];
  }

  /** Deletes what this fixture made: namespaces' pods and claims first (no kubelet finalizes them), then nodes. */
  async cleanup(): Promise<void> {
    for (const ns of this.namespaces.splice(0)) {
      await this.core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
      for (const pvc of (await this.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items) {
        // No controller-manager may run to remove the protection finalizer of a claim in use.
        await this.core.patchNamespacedPersistentVolumeClaim({ namespace: ns, name: pvc.metadata!.name!, body: { metadata: { finalizers: null } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)).catch(() => undefined);
        await this.core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: pvc.metadata!.name! }).catch(() => undefined);
      }
      await this.core.deleteNamespace({ name: ns }).catch(() => undefined);
    }
    for (const name of this.nodes.splice(0)) {
      await this.custom.deleteClusterCustomObject({ group: 'loam.io', version: 'v1alpha1', plural: 'localstoragenodes', name }).catch(() => undefined);
      await this.core.deleteNode({ name }).catch(() => undefined);
    }
  }
}

/**
 * kube-scheduler with the configuration users deploy (docs/scheduler/), pointed at an extender
 * running in this process, and a WaitForFirstConsumer SSD StorageClass of Loam.
 */
export class ExtenderCluster {
  private constructor(readonly view: InformerView, readonly extender: Extender, readonly port: number, readonly fx: SchedulerFixture, private readonly storageClass: string) {}

  static async start(storageClass: string): Promise<ExtenderCluster> {
    const cp = controlPlane();
    const view = new InformerView(createKubeClients(cp.kubeConfig()).rest);
    view.start();
    await view.waitForSync(30_000);
    const extender = new Extender({ view, policy: 'binpack' });
    const { port } = await extender.listen(0);
    const config = (await readFile('docs/scheduler/kube-scheduler-config.yaml', 'utf8')).replace('127.0.0.1:8099', `127.0.0.1:${port}`);
    await cp.startScheduler(config);
    const fx = new SchedulerFixture(cp.kubeConfig());
    await fx.storage.createStorageClass({
      body: { metadata: { name: storageClass }, provisioner: 'lvm.loam.io', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true, parameters: { poolClass: 'SSD', replicaCount: '1' } },
    });
    return new ExtenderCluster(view, extender, port, fx, storageClass);
  }

  async stop(): Promise<void> {
    await this.fx.cleanup();
    await this.fx.storage.deleteStorageClass({ name: this.storageClass }).catch(() => undefined);
    await controlPlane().stopScheduler();
    await this.extender.close();
    await this.view.stop();
  }
}
