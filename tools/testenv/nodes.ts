import * as k8s from '@kubernetes/client-node';

const capacity = { cpu: '8', memory: '32Gi', pods: '110' };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * Creates a Node object that kube-scheduler will place pods on without a kubelet: Ready, with
 * capacity, and without the not-ready taint that node admission adds at creation. Merge patches
 * (no resourceVersion) so controllers that annotate nodes meanwhile cannot make it conflict.
 */
export async function createReadyNode(kc: k8s.KubeConfig, name: string, labels: Record<string, string> = {}): Promise<k8s.V1Node> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } } });
  await core.patchNode({ name, body: { spec: { taints: [] } } }, mergePatch);
  return core.patchNodeStatus({
    name,
    body: { status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'created by a test' }] } },
  }, mergePatch);
}
