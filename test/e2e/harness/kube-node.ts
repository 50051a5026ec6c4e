/**
 * One Kubernetes node of the VM cluster: a test VM whose guest runs containerd, a real kubelet and
 * kube-proxy (set up by guest/kube-node.sh), registered with the host's test control plane under the
 * VM's name, with its private-link address as InternalIP and its own pod range.
 *
 * The host never sends traffic to a guest, so nothing here goes through the kubelet's API: pod logs
 * are read from /var/log/pods inside the guest and commands run in containers with `ctr tasks exec`,
 * both through the guest agent.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { shellQuote, type RunResult } from './agent.js';
import { installGuestKubeconfig } from './cluster.js';
import { ensureKernel } from './kernel.js';
import { kubeNodeScript, stateDiskId } from './kube-node-images.js';
import { hostPart } from './network.js';
import type { Vm } from './vm.js';

/** The daemons kube-node.sh starts; each logs to /var/log/loam-<name>.log in the guest. */
export const nodeDaemons = ['containerd', 'kubelet', 'kube-proxy'] as const;
export type NodeDaemon = (typeof nodeDaemons)[number];

export interface KubeNodeSpec {
  /** VM name, hostname and Node name. */
  name: string;
  /** Its private-link address with prefix (10.99.0.1/24): the Node's InternalIP. */
  linkAddress: string;
  /** Its pods' range (10.244.1.0/24). */
  podCidr: string;
}

export interface JoinOptions {
  cp: ControlPlane;
  /** Folder of kubelet, kube-proxy, containerd, runc (tools/testenv/build-node.sh). */
  nodeBin: string;
  pauseImage: string;
  /** Every node's pod range together. */
  clusterCidr: string;
  /** The other nodes: their pod ranges are routed to their link addresses. */
  peers: KubeNodeSpec[];
}

/** The pod a log or an exec is about, as the API server shows it. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * A CRI log line is `<time> <stream> <P|F> <text>`: P marks a line the runtime split, to be joined
 * with the next. Returns the container's output as it wrote it.
 */
export function criLogText(raw: string): string {
  let out = '';
  for (const line of raw.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) ?(.*)$/.exec(line);
    if (m) out += m[2] + (m[1] === 'F' ? '\n' : '');
  }
  return out;
}

export class KubeNode {
  /** The node binaries' folder, known once the node has joined. */
  private nodeBin?: string;

  constructor(readonly vm: Vm, readonly spec: KubeNodeSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** The Node's InternalIP. */
  get address(): string {
    return hostPart(this.spec.linkAddress);
  }

  /**
   * Sets the guest up as a node (modules, cgroup2, shared mounts, the state disk, containerd, the pod
   * network, the routes to the peers' pods) and starts containerd, the kubelet and kube-proxy.
   * Resolves once they are started; the Node's registration and readiness are the caller's to await.
   */
  async join(opts: JoinOptions): Promise<void> {
    this.nodeBin = opts.nodeBin;
    const kubeconfig = await installGuestKubeconfig(this.vm, opts.cp);
    const dev = await this.vm.deviceWithSerial(stateDiskId);
    if (!dev) throw new Error(`node ${this.name} does not show its state disk`);
    await this.vm.runOk(`bash ${shellQuote(kubeNodeScript)}`, {
      env: {
        MODE: 'node',
        NODE_BIN: opts.nodeBin,
        MODROOT: (await ensureKernel()).moduleRoot,
        STATE_DEV: `/dev/${dev}`,
        PAUSE_IMAGE: opts.pauseImage,
        NODE_NAME: this.name,
        NODE_IP: this.address,
        POD_CIDR: this.spec.podCidr,
        CLUSTER_CIDR: opts.clusterCidr,
        ROUTES: opts.peers.map((p) => `${p.podCidr},${hostPart(p.linkAddress)}`).join(' '),
        KUBECONFIG: kubeconfig,
      },
      timeoutMs: 180_000,
    });
  }

  /** The end of a daemon's log in the guest. */
  async daemonLog(daemon: NodeDaemon, chars = 4000): Promise<string> {
    return (await this.vm.readFile(`/var/log/loam-${daemon}.log`).catch(() => Buffer.from(''))).toString().slice(-chars);
  }

  /** The daemons that are no longer running (a zombie counts as gone: the guest's init reaps nothing). */
  async deadDaemons(): Promise<NodeDaemon[]> {
    const out = await this.vm.runOk(`for d in ${nodeDaemons.join(' ')}; do p=$(cat /run/loam-$d.pid 2>/dev/null) && [ -e /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ] || echo $d; done; true`);
    return out.split('\n').filter(Boolean) as NodeDaemon[];
  }

  /** The tails of the three daemons' logs, for a failure report. */
  async logs(chars = 3000): Promise<string> {
    const parts = [];
    for (const d of nodeDaemons) parts.push(`--- ${d} on ${this.name}\n${await this.daemonLog(d, chars)}`);
    return parts.join('\n');
  }

  /**
   * What a container of a pod on this node wrote (stdout and stderr, in order), from the kubelet's
   * log files in the guest: every restart's file, oldest first.
   */
  async podLog(pod: PodRef, container: string): Promise<string> {
    const dir = path.posix.join('/var/log/pods', `${pod.namespace}_${pod.name}_${pod.uid}`, container);
    const r = await this.vm.runScript(`cd ${shellQuote(dir)} && for f in $(ls *.log | sort -n); do cat "$f"; done`);
    if (r.exitCode !== 0) throw new Error(`node ${this.name} has no log of container ${container} of pod ${pod.namespace}/${pod.name}: ${r.stderr.trim()}`);
    return criLogText(r.stdout);
  }

  /**
   * Runs `argv` in a running container on this node (the containerd id from the pod's
   * containerStatuses, without the `containerd://` prefix), as `kubectl exec` would without the
   * API server dialling the kubelet.
   */
  execInContainer(containerId: string, argv: string[], timeoutMs = 60_000): Promise<RunResult> {
    if (!this.nodeBin) throw new Error(`node ${this.name} has not joined`);
    const id = containerId.replace(/^containerd:\/\//, '');
    return this.vm.run([path.join(this.nodeBin, 'ctr'), '-n', 'k8s.io', 'tasks', 'exec', '--exec-id', `loam-${randomUUID().slice(0, 8)}`, id, ...argv], { timeoutMs });
  }

  /** Memory in use in the guest (MemTotal - MemAvailable), in MiB. */
  async memoryUsedMiB(): Promise<number> {
    const info = await this.vm.runOk('cat /proc/meminfo');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return Math.round((kib('MemTotal') - kib('MemAvailable')) / 1024);
  }
}
