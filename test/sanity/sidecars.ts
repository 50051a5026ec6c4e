/**
 * What a Kubernetes cluster adds around the driver for dynamic provisioning, on the host: the
 * kube-controller-manager (PV binding, expansion and reclaim), the real external-provisioner and
 * external-resizer on the controller socket, and the node's driver registration that kubelet and
 * node-driver-registrar would make (a CSINode entry with the topology key, and the Node's label).
 */
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { topologyKey, driverName } from '../../src/csi/validate.js';
import type { ControlPlane } from '../../tools/testenv/controlplane.js';

const sidecarOptions = { reject: false, all: true, stdin: 'ignore' } as const;
type Sidecar = ResultPromise<typeof sidecarOptions>;

/** Registers lvm.loam.io on `nodeName` as kubelet's plugin registration does. */
export async function registerDriverOnNode(cp: ControlPlane, nodeName: string): Promise<void> {
  const label = await cp.kubectl(['label', 'node', nodeName, `${topologyKey}=${nodeName}`, '--overwrite']);
  if (label.exitCode !== 0) throw new Error(`labelling node ${nodeName}: ${label.stderr}`);
  const csiNode = JSON.stringify({
    apiVersion: 'storage.k8s.io/v1', kind: 'CSINode', metadata: { name: nodeName },
    spec: { drivers: [{ name: driverName, nodeID: nodeName, topologyKeys: [topologyKey] }] },
  });
  const applied = await cp.kubectl(['apply', '-f', '-'], csiNode);
  if (applied.exitCode !== 0) throw new Error(`creating CSINode ${nodeName}: ${applied.stderr}`);
}

export class ProvisioningSidecars {
  private readonly procs: Array<{ name: string; proc: Sidecar; output: string }> = [];

  private constructor(private readonly cp: ControlPlane) {}

  /** kube-controller-manager, csi-provisioner and csi-resizer against `controllerSocket`. */
  static async start(cp: ControlPlane, controllerSocket: string): Promise<ProvisioningSidecars> {
    const s = new ProvisioningSidecars(cp);
    await cp.startControllerManager();
    const common = [`--csi-address=${controllerSocket}`, `--kubeconfig=${cp.kubeconfigPath}`, '--timeout=120s', '--v=3'];
    s.spawn('csi-provisioner', [...common, '--extra-create-metadata', '--node-deployment=false', '--worker-threads=20', '--retry-interval-start=500ms', '--retry-interval-max=10s']);
    s.spawn('csi-resizer', [...common, '--handle-volume-inuse-error=false']);
    return s;
  }

  private spawn(name: string, args: string[]): void {
    const proc = execa(path.join(this.cp.binDir, name), args, sidecarOptions);
    const entry = { name, proc, output: '' };
    proc.all?.on('data', (d: Buffer) => {
      entry.output = (entry.output + d.toString()).slice(-100_000);
    });
    this.procs.push(entry);
  }

  logs(chars = 4000): string {
    return this.procs.map((p) => `--- ${p.name} (exit ${p.proc.exitCode ?? 'running'})\n${p.output.slice(-chars)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.proc.kill('SIGTERM');
    for (const p of this.procs) await p.proc;
    await this.cp.stopControllerManager();
  }
}
