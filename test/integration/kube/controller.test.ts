import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { controlPlane } from '../setup.js';
import { createKubeClients } from '../../../src/kube/client.js';
import { Controller } from '../../../src/kube/controller.js';
import { enqueueOnChange } from '../../../src/kube/handlers.js';
import { Informer } from '../../../src/kube/informer.js';
import { coreResources, splitKey } from '../../../src/kube/resource.js';
import { createNamespace, deleteNamespace, eventually } from './helpers.js';

describe('kube controller fed by an informer (real API server)', function () {
  this.timeout(30_000);
  let namespace: string;

  before(async () => {
    namespace = await createNamespace('kube-controller');
  });

  after(async () => {
    await deleteNamespace(namespace);
  });

  it('reconciles changed keys level-based, retrying a failing key until it succeeds', async () => {
    const clients = createKubeClients(controlPlane().kubeConfig());
    const core = controlPlane().kubeConfig().makeApiClient(k8s.CoreV1Api);
    const informer = new Informer<k8s.V1ConfigMap>(clients.rest, { resource: coreResources.configMaps, namespace });
    const results = new Map<string, string>();
    let failuresLeft = 2;
    const controller = new Controller({
      name: 'mirror',
      workers: 2,
      // Level-based: read the current object from the cache, whatever event brought the key.
      reconcile: async (key) => {
        const cm = informer.cache.get(key);
        if (splitKey(key).name === 'flaky' && failuresLeft-- > 0) throw new Error('transient trouble');
        results.set(key, cm ? (cm.data?.v ?? '') : 'deleted');
      },
    });
    enqueueOnChange(informer, controller.queue);
    informer.start();
    controller.start();
    try {
      await informer.waitForSync(10_000);
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'steady' }, data: { v: '1' } } });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'flaky' }, data: { v: 'x' } } });
      await eventually('steady reconciled', () => results.get(`${namespace}/steady`) === '1', 3000);
      await eventually('flaky reconciled after its retries', () => results.get(`${namespace}/flaky`) === 'x', 3000);
      assert.equal(failuresLeft, -1);
      assert.equal(controller.queue.numRequeues(`${namespace}/flaky`), 0);
      await core.deleteNamespacedConfigMap({ namespace, name: 'steady' });
      await eventually('the delete reconciled', () => results.get(`${namespace}/steady`) === 'deleted', 3000);
    } finally {
      await controller.stop();
      await informer.stop();
    }
  });
});
