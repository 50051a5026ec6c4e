/**
 * Loam's binaries and their Kubernetes companions as the chart runs them, on the host: every
 * container's arguments come from the rendered chart, with sockets, ports and kubeconfigs of the
 * host put in (`onHost`). loam-node is the real agent of one node; loam-controller serves the CSI
 * Controller socket that csi-provisioner and csi-resizer call; loam-scheduler serves the extender
 * of the second scheduler's kube-scheduler.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { CsiTestClient } from '../csi-controller/support.js';
import { Child, configMapValue, containerArgs, onHost, renderChart } from './support.js';

export interface ComponentsInput {
  cp: ControlPlane;
  namespace: string;
  /** Sockets, the kubelet folder and the kube-scheduler configuration go here. */
  dir: string;
  /** The Node loam-node runs as. */
  nodeName: string;
  /** A pod of the controller Deployment: csi-provisioner's owner of CSIStorageCapacity objects. */
  controllerPod: string;
  kubeconfig: { node: string; controller: string; scheduler: string };
}

export interface Components {
  nodeSocket: string;
  kubeletDir: string;
}

/** Starts every component (the sidecars once the CSI Controller socket answers); `children` gets each one as it starts. */
export async function startComponents(x: ComponentsInput, children: Child[]): Promise<Components> {
  const workloads = await renderChart(x.cp.binDir, x.namespace, ['node-daemonset.yaml', 'controller-deployment.yaml', 'scheduler-deployment.yaml', 'scheduler-configmap.yaml']);
  const args = (workload: string, container: string): string[] => containerArgs(workloads, workload, container);
  const podEnv = { NAMESPACE: x.namespace, POD_NAME: x.controllerPod };
  const controllerSocket = path.join(x.dir, 'controller.sock');
  const nodeSocket = path.join(x.dir, 'node.sock');
  const kubeletDir = path.join(x.dir, 'kubelet');
  const [extenderPort, webhookPort, schedulerPort] = [await freePort(), await freePort(), await freePort()];

  children.push(
    Child.loam('loam-node', onHost(args('loam-node', 'loam-node'), { NODE_NAME: x.nodeName }, {
      'kubelet-dir': kubeletDir, 'csi-endpoint': `unix://${nodeSocket}`, 'registration-dir': null, 'health-listen': null, 'resync-seconds': '5',
    }, ['--include-loop', '--heartbeat-seconds=2', `--kubeconfig=${x.kubeconfig.node}`])),
    // A deleted Node counts as gone after 2 s instead of 10 min, so the clean-up runs in the test.
    Child.loam('loam-controller', onHost(args('loam-controller', 'loam-controller'), podEnv, {
      'csi-endpoint': `unix://${controllerSocket}`, 'health-listen': null, 'node-grace-seconds': '2',
    }, [`--kubeconfig=${x.kubeconfig.controller}`])),
    Child.loam('loam-scheduler', onHost(args('loam-scheduler', 'loam-scheduler'), {}, {
      listen: `127.0.0.1:${extenderPort}`, 'health-listen': null, 'webhook-listen': `127.0.0.1:${webhookPort}`,
    }, [`--kubeconfig=${x.kubeconfig.scheduler}`])),
  );

  const probe = new CsiTestClient(controllerSocket);
  // Generous: three tsx-started binaries and two sidecars compete for a loaded 2-core CI machine.
  await waitFor('the CSI Controller socket', async () => (await probe.call<{ ready?: { value: boolean } }>('Identity', 'Probe', {}, 2000).catch(() => undefined))?.ready?.value === true, 150_000, 200);
  probe.close();
  // The sidecars' informers list, then watch, as client-go does against API servers that do not
  // stream lists (the chart supports Kubernetes 1.30 on): the rules must allow both.
  const sidecarEnv = { ...podEnv, KUBE_FEATURE_WatchListClient: 'false' };
  for (const name of ['csi-provisioner', 'csi-resizer']) {
    children.push(new Child(name, path.join(x.cp.binDir, name),
      onHost(args('loam-controller', name), podEnv, { 'csi-address': controllerSocket }, [`--kubeconfig=${x.kubeconfig.controller}`]), sidecarEnv));
  }

  const config = YAML.parse(configMapValue(workloads, 'loam-scheduler-config', 'config.yaml').replace('127.0.0.1:8099', `127.0.0.1:${extenderPort}`)) as Record<string, unknown>;
  config.clientConnection = { kubeconfig: x.kubeconfig.scheduler };
  const configFile = path.join(x.dir, 'kube-scheduler.yaml');
  await writeFile(configFile, YAML.stringify(config));
  // In a pod, kube-scheduler authenticates its own callers with its in-cluster ServiceAccount; here that is the kubeconfig.
  children.push(new Child('kube-scheduler', path.join(x.cp.binDir, 'kube-scheduler'), [
    ...onHost(args('loam-scheduler', 'kube-scheduler'), {}, { config: configFile }),
    `--authentication-kubeconfig=${x.kubeconfig.scheduler}`, `--authorization-kubeconfig=${x.kubeconfig.scheduler}`,
    '--bind-address=127.0.0.1', `--secure-port=${schedulerPort}`,
  ]));
  return { nodeSocket, kubeletDir };
}
