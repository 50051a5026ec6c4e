import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { controlPlane } from '../setup.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';

describe('test control plane', () => {
  it('serves the API over TLS to the admin kubeconfig', async () => {
    const r = await controlPlane().kubectl(['get', '--raw', '/readyz']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  it('has every CRD of crds/ Established', async () => {
    const api = controlPlane().kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const crds = (await api.listCustomResourceDefinition()).items.filter((c) => c.spec.group === 'loam.io');
    for (const crd of crds) {
      assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), `${crd.metadata?.name} not Established`);
    }
  });

  it('runs kube-scheduler on request, which binds a pod to a node', async function () {
    this.timeout(90_000);
    const cp = controlPlane();
    await cp.startScheduler();
    const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    const node = 'testenv-node-1';
    await createReadyNode(cp.kubeConfig(), node);
    try {
      await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'testenv-pod' }, spec: { containers: [{ name: 'c', image: 'none' }] } } });
      let bound = '';
      await waitFor('the pod to be bound', async () => {
        bound = (await core.readNamespacedPod({ name: 'testenv-pod', namespace: 'default' })).spec?.nodeName ?? '';
        return bound !== '';
      }, 30_000).catch(async (err) => assert.fail(`${(err as Error).message}\n${await cp.logTail(15)}`));
      assert.equal(bound, node);
    } finally {
      await core.deleteNamespacedPod({ name: 'testenv-pod', namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
      await cp.stopScheduler();
    }
  });
});
