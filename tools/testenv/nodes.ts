import * as k8s from '@kubernetes/client-node';

const capacity = { cpu: '8', memory: '32Gi', pods: '110' };

/**
 * Creates a Node object that kube-scheduler will place pods on without a kubelet: Ready, with
 * capacity, and without the not-ready taint that node admission adds at creation.
 */
export async function createReadyNode(kc: k8s.KubeConfig, name: string, labels: Record<string, string> = {}): Promise<k8s.V1Node> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } } });
  const node = await core.readNode({ name });
  node.spec = { ...node.spec, taints: [] };
  await core.replaceNode({ name, body: node });
  const fresh = await core.readNode({ name });
  fresh.status = { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'created by a test' }] };
  return core.replaceNodeStatus({ name, body: fresh });
}
