/**
 * A Kubernetes cluster of real nodes for the VM tier: the host's test control plane (kube-apiserver,
 * kube-controller-manager, kube-scheduler on loopback) and N QEMU VMs, each a node with containerd, a
 * real kubelet and kube-proxy (`kube-node.ts`), joined over the user-mode NIC that reaches only the
 * API server. Pods get addresses from their node's range and reach each other over the private link;
 * the `kubernetes` Service leads to the API server, so in-cluster clients (the chart's pods) run
 * unmodified. Every node boots on a copy-on-write overlay of one cached disk that already holds the
 * images (`kube-node-images.ts`).
 *
 * The host never sends traffic to a guest or off loopback. kube-apiserver's connections to kubelets
 * (`kubectl logs/exec/port-forward`) go to the control plane's egress proxy, which refuses them, so
 * such a mistake fails on the host. `podLog` and `exec` read logs and run commands in the guest
 * through the guest agent instead, without the API server.
 *
 * One cluster serves every spec file of a run (`sharedKubeCluster`, stopped by the tier's teardown);
 * each spec works in its own namespace and removes it.
 */
import * as k8s from '@kubernetes/client-node';
import { componentLogger } from '../../../src/common/logger.js';
import { ensureNodeBin } from '../../../tools/testenv/bin.js';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { busyboxImage, ensureTestImages, pauseImage } from '../../../tools/testenv/images.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import type { RunResult } from './agent.js';
import { noteFigure } from './figures.js';
import { ensureImageDisk, ensureLoamImage, stateDiskId, type ImageArchive } from './kube-node-images.js';
import { KubeNode, type KubeNodeSpec, type PodRef } from './kube-node.js';
import { apiServerGuestAddress } from './network.js';
import { LinkHub } from './kube-cluster-hub.js';
import { Vm } from './vm.js';

const log = componentLogger('e2e');

/** Every node's pods together; node i (from 0) has 10.244.<i+1>.0/24. */
export const clusterCidr = '10.244.0.0/16';
export { busyboxImage };

export interface KubeClusterOptions {
  /** How many nodes (VMs), at most 8; default 2. */
  nodes?: number;
  /** Per node; default 1024. */
  memoryMiB?: number;
  /** Per node; default 1. */
  cpus?: number;
  /** Node names are `<prefix>-a`, `<prefix>-b`; default `kube`. */
  namePrefix?: string;
  /** More OCI archives on every node, besides pause, busybox, the CSI sidecars and kube-scheduler. */
  images?: ImageArchive[];
  /** Loam's own image too (`npm run image`), for installing the chart; default true. */
  loamImage?: boolean;
}

export interface KubeClusterFigures {
  /** Making or finding the image disk (and the images), before any node starts. */
  imagesMs: number;
  /** QEMU start of the first node to every node Ready without the not-ready taint. */
  startMs: number;
}

const notReadyTaint = 'node.kubernetes.io/not-ready';

function nodeSpecs(count: number, prefix: string): KubeNodeSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error(`a VM cluster has 1 to 8 nodes, not ${count}`);
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${String.fromCharCode(97 + i)}`,
    linkAddress: `10.99.0.${i + 1}/24`,
    podCidr: `10.244.${i + 1}.0/24`,
  }));
}

/** True when the Node is Ready and no longer carries the not-ready taint (pods can be scheduled). */
function schedulable(node: k8s.V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  return ready && !(node.spec?.taints ?? []).some((t) => t.key === notReadyTaint);
}

export class KubeCluster {
  readonly core: k8s.CoreV1Api;
  readonly figures: KubeClusterFigures = { imagesMs: 0, startMs: 0 };

  private constructor(
    readonly cp: ControlPlane,
    private readonly hub: LinkHub,
    readonly nodes: KubeNode[],
    /** Loam's image as the nodes have it (e.g. loam.io/loam:0.1.0), unless left out. */
    readonly loamImage: string | undefined,
  ) {
    this.core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  }

  /** The admin kubeconfig for the host (it names the API server on 127.0.0.1). */
  get kubeconfigPath(): string {
    return this.cp.kubeconfigPath;
  }

  /** A fresh KubeConfig for the admin user. */
  kubeConfig(): k8s.KubeConfig {
    return this.cp.kubeConfig();
  }

  static async start(opts: KubeClusterOptions = {}): Promise<KubeCluster> {
    const specs = nodeSpecs(opts.nodes ?? 2, opts.namePrefix ?? 'kube');
    const imagesStarted = Date.now();
    let loamImage: string | undefined;
    const [cp, nodeBin, disk] = await Promise.all([
      ControlPlane.start({ cluster: { advertiseAddress: apiServerGuestAddress } }),
      ensureNodeBin(),
      (async () => {
        // Loam's image changes with every source change: it goes into a layer of its own over the rest.
        const testImages = (await ensureTestImages()).map((i) => ({ file: i.archive, name: i.name }));
        const base = await ensureImageDisk(testImages, await ensureNodeBin(), pauseImage);
        const extra = [...(opts.images ?? [])];
        if (opts.loamImage ?? true) {
          const loam = await ensureLoamImage();
          extra.push(loam);
          loamImage = loam.name;
        }
        return extra.length > 0 ? ensureImageDisk(extra, await ensureNodeBin(), pauseImage, base) : base;
      })(),
    ]);
    const imagesMs = Date.now() - imagesStarted;
    const nodes: KubeNode[] = [];
    const hub = await LinkHub.start().catch(async (err: unknown) => {
      await cp.stop();
      throw err;
    });
    try {
      await cp.startControllerManager();
      await cp.startScheduler();
      const started = Date.now();
      // All boot at once, each connected to the hub.
      const booted = await Promise.allSettled(specs.map((spec) => Vm.start({
        name: spec.name,
        apiServerPort: cp.apiPort,
        link: hub.end(spec.linkAddress),
        memoryMiB: opts.memoryMiB ?? 1024,
        cpus: opts.cpus ?? 1,
        disks: [{ id: stateDiskId, sizeBytes: 0, backingFile: disk.file }],
      })));
      for (const [i, r] of booted.entries()) if (r.status === 'fulfilled') nodes.push(new KubeNode(r.value, specs[i]!));
      const failed = booted.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await Promise.all(nodes.map((node) => node.join({ cp, nodeBin, pauseImage, clusterCidr, peers: specs.filter((s) => s !== node.spec) })));
      const cluster = new KubeCluster(cp, hub, nodes, loamImage);
      await cluster.waitNodesSchedulable(300_000);
      cluster.figures.imagesMs = imagesMs;
      cluster.figures.startMs = Date.now() - started;
      noteFigure(`VM cluster of ${nodes.length} nodes`, `${(cluster.figures.startMs / 1000).toFixed(1)} s from QEMU start to every node Ready (images ${(imagesMs / 1000).toFixed(1)} s before)`);
      log.info('VM cluster up', { nodes: nodes.map((n) => n.name), ...cluster.figures });
      return cluster;
    } catch (err) {
      const logs = await Promise.all(nodes.map((n) => n.logs().catch(() => '')));
      await Promise.allSettled(nodes.map((n) => n.vm.stop()));
      await hub.close();
      const cpLogs = await cp.logTail(20);
      await cp.stop();
      throw new Error(`the VM cluster did not start: ${(err as Error).message}\n${logs.join('\n')}\n${cpLogs}`, { cause: err });
    }
  }

  node(name: string): KubeNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Waits until every node is Ready and untainted; fails at once, with its logs, if a node's daemon died. */
  async waitNodesSchedulable(timeoutMs: number): Promise<void> {
    await waitFor(`nodes ${this.nodes.map((n) => n.name).join(', ')} Ready without the not-ready taint`, async () => {
      for (const node of this.nodes) {
        const dead = await node.deadDaemons();
        if (dead.length > 0) throw new Error(`on ${node.name}, ${dead.join(' and ')} exited:\n${await node.logs()}`);
      }
      const listed = (await this.core.listNode()).items;
      return this.nodes.every((n) => listed.some((l) => l.metadata?.name === n.name && schedulable(l)));
    }, timeoutMs, 1000);
  }

  /** The pod as the API server has it. */
  pod(namespace: string, name: string): Promise<k8s.V1Pod> {
    return this.core.readNamespacedPod({ namespace, name });
  }

  /** Waits until the pod is Running with every container ready; returns it. Fails at once if it failed. */
  async waitPodRunning(namespace: string, name: string, timeoutMs = 120_000): Promise<k8s.V1Pod> {
    let pod: k8s.V1Pod | undefined;
    await waitFor(`pod ${namespace}/${name} Running`, async () => {
      pod = await this.pod(namespace, name);
      if (pod.status?.phase === 'Failed') throw new Error(`pod ${namespace}/${name} failed: ${JSON.stringify(pod.status)}`);
      return pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.ready);
    }, timeoutMs, 500);
    return pod!;
  }

  /** The node a pod runs on. */
  async nodeOfPod(namespace: string, name: string): Promise<{ node: KubeNode; pod: k8s.V1Pod; ref: PodRef }> {
    const pod = await this.pod(namespace, name);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw new Error(`pod ${namespace}/${name} is not scheduled yet`);
    return { node: this.node(nodeName), pod, ref: { namespace, name, uid: pod.metadata!.uid! } };
  }

  /** What a container wrote, read in its node's guest (not with `kubectl logs`, which dials the kubelet). */
  async podLog(namespace: string, name: string, container?: string): Promise<string> {
    const { node, pod, ref } = await this.nodeOfPod(namespace, name);
    return node.podLog(ref, container ?? pod.spec!.containers[0]!.name);
  }

  /** Runs `argv` in a container, through its node's containerd (not with `kubectl exec`). */
  async exec(namespace: string, name: string, argv: string[], container?: string, timeoutMs?: number): Promise<RunResult> {
    const { node, pod } = await this.nodeOfPod(namespace, name);
    const wanted = container ?? pod.spec!.containers[0]!.name;
    const status = pod.status?.containerStatuses?.find((c) => c.name === wanted);
    if (!status?.containerID || !status.state?.running) throw new Error(`container ${wanted} of pod ${namespace}/${name} is not running`);
    return node.execInContainer(status.containerID, argv, timeoutMs);
  }

  /** The daemons' logs of every node and the control plane's, for a failure report. */
  async logs(): Promise<string> {
    const parts = await Promise.all(this.nodes.map((n) => n.logs().catch((e: unknown) => `${n.name}: ${String(e)}`)));
    return `${parts.join('\n')}\n${await this.cp.logTail(20)}`;
  }

  /** Stops every VM, the link hub and the control plane. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.vm.stop()));
    await this.hub.close();
    await this.cp.stop();
  }
}

/** Starts a cluster of its own for a caller that needs one (a demo, a test that breaks nodes). */
export function startKubeCluster(opts: KubeClusterOptions = {}): Promise<KubeCluster> {
  return KubeCluster.start(opts);
}

let shared: Promise<KubeCluster> | undefined;

/** The run's one cluster (two nodes, Loam's image on them), started by the first spec file that asks. */
export function sharedKubeCluster(): Promise<KubeCluster> {
  shared ??= KubeCluster.start();
  return shared;
}

/** Stops the shared cluster if one was started (the tier's teardown). */
export async function stopSharedKubeCluster(): Promise<void> {
  const cluster = shared;
  shared = undefined;
  await (await cluster?.catch(() => undefined))?.stop();
}

/**
 * The mocha hooks of a spec file on the shared cluster: started (or joined) before the tests, the
 * nodes' logs printed after a failed test. The getter gives the cluster.
 */
export function withKubeCluster(): () => KubeCluster {
  let cluster: KubeCluster | undefined;
  before(async function () {
    this.timeout(900_000);
    cluster = await sharedKubeCluster();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(await cluster.logs());
  });
  return () => {
    if (!cluster) throw new Error('the VM cluster is not started (withKubeCluster hooks run before the tests)');
    return cluster;
  };
}
