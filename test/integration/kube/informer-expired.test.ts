import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { createKubeClients, type KubeClients } from '../../../src/kube/client.js';
import { Informer } from '../../../src/kube/informer.js';
import { coreResources, objectKey, resourcePath } from '../../../src/kube/resource.js';
import { eventually } from './helpers.js';

// With the shared control plane a watch from an old resourceVersion is served from kube-apiserver's
// watch cache. This control plane watches ConfigMaps straight from etcd, so once etcd is compacted
// the server itself answers an old resourceVersion with 410 Expired, as it does in a real cluster
// whose informer was away too long.
describe('kube informer after a real 410 Expired', function () {
  this.timeout(90_000);
  let cp: ControlPlane;
  let clients: KubeClients;
  let core: k8s.CoreV1Api;
  let informer: Informer<k8s.V1ConfigMap>;

  before(async () => {
    cp = await ControlPlane.start({ crdDir: '/nonexistent', apiServerArgs: ['--watch-cache-sizes=configmaps#0'] });
    clients = createKubeClients(cp.kubeConfig());
    core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  });

  after(async () => {
    await informer?.stop();
    await cp?.stop();
  });

  const list = async (): Promise<{ rv: string; items: Record<string, string> }> => {
    const l = await clients.rest.request<{ metadata: { resourceVersion: string }; items: k8s.V1ConfigMap[] }>('GET', resourcePath(coreResources.configMaps, 'default'));
    return { rv: l.metadata.resourceVersion, items: Object.fromEntries(l.items.map((o) => [objectKey(o), o.metadata!.resourceVersion!])) };
  };

  it('relists on 410, repairs what it missed, and keeps watching', async () => {
    informer = new Informer<k8s.V1ConfigMap>(clients.rest, { resource: coreResources.configMaps, namespace: 'default', resyncMs: 0 });
    const relists: string[] = [];
    const errors: Error[] = [];
    informer.on('relisted', (info) => relists.push(info.reason));
    informer.on('error', (err) => errors.push(err));
    informer.start();
    await informer.waitForSync(10_000);
    const staleRv = informer.lastResourceVersion;

    // Changes the informer will have to learn from a list: made while its watch is being replaced.
    // Two writes, so the compaction passes staleRv + 1 (a watch from X starts at revision X + 1).
    for (const name of ['while-away-1', 'while-away-2']) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    await eventually('the adds', () => informer.cache.has('default/while-away-2'), 2000);
    await cp.compactEtcd((await list()).rv);
    const before = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'missed' } } });
    informer.cache.remove('default/missed'); // as if the watch had dropped the event

    // Resume from the resourceVersion of the first list, now compacted away: the server says 410.
    informer.reconnect(staleRv);
    await eventually('a relist because the resourceVersion expired', () => relists.includes('expired'), 10_000);
    await eventually('the missed object back in the cache', () => informer.cache.get('default/missed')?.metadata?.resourceVersion === before.metadata?.resourceVersion, 5000);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after' } } });
    await eventually('the watch to deliver again', () => informer.cache.has('default/after'), 5000);
    assert.deepEqual(Object.fromEntries(informer.cache.list().map((o) => [objectKey(o), o.metadata!.resourceVersion!])), (await list()).items);
    assert.deepEqual(errors, []);
  });
});
