import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { controlPlane } from '../setup.js';
import { createKubeClients, type KubeClients } from '../../../src/kube/client.js';
import { labelIndex } from '../../../src/kube/cache.js';
import { Informer, type InformerEvents } from '../../../src/kube/informer.js';
import { coreResources, objectKey, resourcePath } from '../../../src/kube/resource.js';
import { createNamespace, deleteNamespace, ensureWidgetCrd, eventually, restoreApiServer, widgets, type Widget } from './helpers.js';

type Seen = { type: string; name: string; source: string; data?: Record<string, string> };

/** Records what an informer emits, for assertions. */
function record(informer: Informer<k8s.V1ConfigMap>): { objects: Seen[]; lifecycle: Array<{ type: keyof InformerEvents<unknown>; info: unknown }> } {
  const objects: Seen[] = [];
  const lifecycle: Array<{ type: keyof InformerEvents<unknown>; info: unknown }> = [];
  informer.on('add', (o, source) => objects.push({ type: 'add', name: o.metadata!.name!, source, data: o.data }));
  informer.on('update', (o, _old, source) => objects.push({ type: 'update', name: o.metadata!.name!, source, data: o.data }));
  informer.on('delete', (o, source) => objects.push({ type: 'delete', name: o.metadata!.name!, source }));
  for (const type of ['connected', 'reconnecting', 'relisted', 'error'] as const) informer.on(type, (info: unknown) => lifecycle.push({ type, info }));
  return { objects, lifecycle };
}

/** The cache as name → resourceVersion, to compare with a fresh list. */
function cacheState(informer: Informer<k8s.V1ConfigMap>): Record<string, string> {
  return Object.fromEntries(informer.cache.list().map((o) => [objectKey(o), o.metadata!.resourceVersion!]));
}

async function freshList(clients: KubeClients, namespace: string): Promise<Record<string, string>> {
  const list = await clients.rest.request<{ items: k8s.V1ConfigMap[] }>('GET', resourcePath(coreResources.configMaps, namespace));
  return Object.fromEntries(list.items.map((o) => [objectKey(o), o.metadata!.resourceVersion!]));
}

describe('kube informer (real API server)', function () {
  this.timeout(60_000);
  let namespace: string;
  let clients: KubeClients;
  let core: k8s.CoreV1Api;
  const informers: Informer<k8s.KubernetesObject>[] = [];

  const startInformer = async (opts: Partial<ConstructorParameters<typeof Informer<k8s.V1ConfigMap>>[1]> = {}): Promise<Informer<k8s.V1ConfigMap>> => {
    const informer = new Informer<k8s.V1ConfigMap>(clients.rest, { resource: coreResources.configMaps, namespace, backoff: { baseMs: 100, maxMs: 2000 }, ...opts });
    informers.push(informer);
    informer.start();
    await informer.waitForSync(10_000);
    return informer;
  };

  before(async () => {
    clients = createKubeClients(controlPlane().kubeConfig());
    // "Another client": client-node's own typed API, not ours.
    core = controlPlane().kubeConfig().makeApiClient(k8s.CoreV1Api);
    namespace = await createNamespace('kube-informer');
  });

  afterEach(async () => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
  });

  after(async () => {
    await deleteNamespace(namespace);
  });

  it('lists existing objects, then sees create, update and delete within 1 s', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before' }, data: { a: '1' } } });
    const informer = await startInformer({ indexers: { byNode: labelIndex('loam.io/node') } });
    const seen = record(informer);
    assert.ok(informer.hasSynced());
    assert.ok(informer.cache.get(`${namespace}/before`), 'the first list filled the cache');

    let t = performance.now();
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'cm1', labels: { 'loam.io/node': 'n1' } }, data: { a: '1' } } });
    await eventually('the add', () => seen.objects.some((e) => e.type === 'add' && e.name === 'cm1'), 1000);
    assert.ok(performance.now() - t < 1000);
    assert.deepEqual(informer.cache.byIndex('byNode', 'n1').map((o) => o.metadata?.name), ['cm1']);

    t = performance.now();
    await core.patchNamespacedConfigMap({ namespace, name: 'cm1', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await eventually('the update', () => seen.objects.some((e) => e.type === 'update' && e.name === 'cm1' && e.data?.a === '2'), 1000);
    assert.equal(informer.cache.get(`${namespace}/cm1`)?.data?.a, '2');

    t = performance.now();
    await core.deleteNamespacedConfigMap({ namespace, name: 'cm1' });
    await eventually('the delete', () => seen.objects.some((e) => e.type === 'delete' && e.name === 'cm1'), 1000);
    assert.ok(performance.now() - t < 1000);
    assert.equal(informer.cache.get(`${namespace}/cm1`), undefined);
    assert.deepEqual(informer.cache.byIndex('byNode', 'n1'), []);
    assert.ok(seen.objects.every((e) => e.source === 'watch'));
  });

  it('watching again from an ancient resourceVersion ends equal to a fresh list', async () => {
    // kube-apiserver 1.37 answers a watch from resourceVersion "1" by replaying or with 410 Expired
    // (older servers); either way the informer must end up with the server's state. The 410 branch
    // itself is covered against a scripted server in test/unit/kube/informer.test.ts and against a
    // real 410 from kube-apiserver in informer-expired.test.ts.
    const informer = await startInformer();
    const seen = record(informer);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'gone1' }, data: { a: '1' } } });
    await eventually('the add', () => informer.cache.has(`${namespace}/gone1`), 2000);
    await core.deleteNamespacedConfigMap({ namespace, name: 'gone1' });
    await eventually('the delete', () => !informer.cache.has(`${namespace}/gone1`), 2000);
    const connectedBefore = seen.lifecycle.filter((e) => e.type === 'connected').length;
    informer.reconnect('1');
    await eventually('a new watch', () => seen.lifecycle.filter((e) => e.type === 'connected').length > connectedBefore, 5000);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'gone2' } } });
    await eventually('the watch to work again', () => informer.cache.has(`${namespace}/gone2`), 2000);
    assert.deepEqual(cacheState(informer), await freshList(clients, namespace));
    assert.equal(seen.lifecycle.filter((e) => e.type === 'error').length, 0, 'no error reported');
  });

  it('repairs a diverged cache on the periodic relist with synthetic events', async () => {
    const informer = await startInformer({ resyncMs: 1000 });
    const seen = record(informer);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'repair1' }, data: { a: '1' } } });
    await eventually('the add', () => informer.cache.has(`${namespace}/repair1`), 2000);
    // Make the cache disagree with the server the way missed watch events would.
    informer.cache.remove(`${namespace}/repair1`);
    informer.cache.upsert({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'phantom', namespace, resourceVersion: '1' } });
    await eventually('the periodic relist to repair the cache', () => informer.cache.has(`${namespace}/repair1`) && !informer.cache.has(`${namespace}/phantom`), 3000);
    assert.ok(seen.objects.some((e) => e.type === 'add' && e.name === 'repair1' && e.source === 'list'));
    assert.ok(seen.objects.some((e) => e.type === 'delete' && e.name === 'phantom' && e.source === 'list'));
    assert.ok(seen.lifecycle.some((e) => e.type === 'relisted' && (e.info as { reason: string }).reason === 'resync'));
    assert.deepEqual(cacheState(informer), await freshList(clients, namespace));
  });

  it('reconnects a silent watch through its watchdog', async () => {
    const informer = await startInformer({ watchdogMs: 700 });
    const seen = record(informer);
    await eventually('the watchdog to restart the watch', () => {
      const i = seen.lifecycle.findIndex((e) => e.type === 'reconnecting');
      return i >= 0 && seen.lifecycle.slice(i).some((e) => e.type === 'connected');
    }, 5000);
    const reconnect = seen.lifecycle.find((e) => e.type === 'reconnecting');
    assert.match((reconnect!.info as { reason: string }).reason, /silent/);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after-watchdog' } } });
    await eventually('an event on the new watch', () => informer.cache.has(`${namespace}/after-watchdog`), 2000);
  });

  it('stops at once whenever stop() comes, even right after the first sync (before the watch opened)', async () => {
    const stopTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const informer = new Informer<k8s.V1ConfigMap>(clients.rest, { resource: coreResources.configMaps, namespace });
      informer.start();
      await informer.waitForSync(10_000);
      const started = performance.now();
      // Stopped after 0-9 ms: sometimes before the watch request, sometimes while it opens.
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, i % 10));
      await informer.stop();
      stopTimes.push(performance.now() - started);
    }
    assert.ok(Math.max(...stopTimes) < 1000, `stop() took ${stopTimes.map((t) => t.toFixed(0)).join(', ')} ms`);
  });

  it('watches a custom resource by group/version/plural', async () => {
    await ensureWidgetCrd();
    const informer = new Informer<Widget>(clients.rest, { resource: widgets, namespace });
    informers.push(informer);
    const added: string[] = [];
    informer.on('add', (w) => added.push(`${w.kind}/${w.metadata?.name}/${w.spec?.size}`));
    informer.start();
    await informer.waitForSync(10_000);
    await clients.rest.request('POST', resourcePath(widgets, namespace), { body: { apiVersion: 'kubetest.loam.io/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } });
    await eventually('the widget', () => added.includes('Widget/w1/3'), 2000);
  });

  it('survives a restart of kube-apiserver: backs off, reconnects, and ends equal to a fresh list', async function () {
    this.timeout(90_000);
    const informer = await startInformer();
    const seen = record(informer);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'restart1' } } });
    await eventually('the add', () => informer.cache.has(`${namespace}/restart1`), 2000);
    const cp = controlPlane();
    let downFor = 0;
    try {
      const stopped = performance.now();
      await cp.stopApiServer();
      await eventually('a reconnect attempt', () => seen.lifecycle.some((e) => e.type === 'reconnecting'), 5000);
      await new Promise((r) => setTimeout(r, 2000));
      await cp.startApiServer();
      downFor = performance.now() - stopped;
    } finally {
      await restoreApiServer();
    }
    const attempts = seen.lifecycle.filter((e) => e.type === 'reconnecting').map((e) => e.info as { attempt: number; delayMs: number });
    // One loop with backoff: delays grow and the count stays near log2(outage / base), not a storm.
    assert.ok(attempts.length <= 4 + Math.log2(downFor / 100) * 2, `${attempts.length} reconnect attempts in ${Math.round(downFor)} ms`);
    for (let i = 1; i < Math.min(attempts.length, 4); i++) assert.ok(attempts[i]!.delayMs >= attempts[i - 1]!.delayMs, 'delays grow');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'restart2' } } });
    await eventually('the informer to see a change after the restart', () => informer.cache.has(`${namespace}/restart2`), 15_000);
    assert.ok(seen.lifecycle.some((e) => e.type === 'connected'));
    assert.deepEqual(cacheState(informer), await freshList(clients, namespace));
  });
});
