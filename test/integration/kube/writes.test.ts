import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { controlPlane } from '../setup.js';
import { serverSideApply } from '../../../src/kube/apply.js';
import { createKubeClients, type KubeClients } from '../../../src/kube/client.js';
import { isConflict, statusCodeOf } from '../../../src/kube/errors.js';
import { EventRecorder } from '../../../src/kube/events.js';
import { coreResources, resourcePath } from '../../../src/kube/resource.js';
import { mergePatch, patchStatus } from '../../../src/kube/status.js';
import { createNamespace, deleteNamespace, ensureWidgetCrd, widgets, type Widget } from './helpers.js';

interface EventList {
  items: Array<{ metadata: { name: string }; reason: string; action: string; note?: string; type: string; reportingController: string; reportingInstance: string; regarding: { kind: string; name: string; uid: string }; series?: { count: number; lastObservedTime: string } }>;
}

describe('kube writes: apply, status, events (real API server)', function () {
  this.timeout(30_000);
  let namespace: string;
  let clients: KubeClients;

  before(async () => {
    clients = createKubeClients(controlPlane().kubeConfig());
    namespace = await createNamespace('kube-writes');
    await ensureWidgetCrd();
  });

  after(async () => {
    await deleteNamespace(namespace);
  });

  it('server-side applies as field manager loam, with strict validation and conflicts', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace }, data: { a: '1' } };
    const created = await serverSideApply<k8s.V1ConfigMap>(clients, coreResources.configMaps, cm);
    assert.equal(created.data?.a, '1');
    const manager = created.metadata?.managedFields?.find((f) => f.manager === 'loam');
    assert.equal(manager?.operation, 'Apply');

    const updated = await serverSideApply<k8s.V1ConfigMap>(clients, coreResources.configMaps, { ...cm, data: { a: '2', b: '3' } });
    assert.deepEqual(updated.data, { a: '2', b: '3' });

    // Another manager takes field a: without force that is a conflict, with force it wins.
    await assert.rejects(serverSideApply(clients, coreResources.configMaps, { ...cm, data: { a: 'x' } }, { fieldManager: 'someone-else', force: false }), (err) => isConflict(err));
    const forced = await serverSideApply<k8s.V1ConfigMap>(clients, coreResources.configMaps, { ...cm, data: { a: 'x' } }, { fieldManager: 'someone-else', force: true });
    assert.equal(forced.data?.a, 'x');

    // An unknown field is an error instead of being dropped silently (and is not retried as a 500).
    await assert.rejects(
      serverSideApply(clients, widgets, { apiVersion: 'kubetest.loam.io/v1', kind: 'Widget', metadata: { name: 'typo', namespace }, spec: { size: 1, colour: 'red' } } as Widget),
      (err: Error) => statusCodeOf(err) !== undefined && statusCodeOf(err)! >= 400 && /colour/.test(err.message),
    );
  });

  it('merge-patches the status of a custom resource through /status and keeps the spec', async () => {
    const w = await serverSideApply<Widget>(clients, widgets, { apiVersion: 'kubetest.loam.io/v1', kind: 'Widget', metadata: { name: 'w-status', namespace }, spec: { size: 2, color: 'blue' } });
    const target = { name: 'w-status', namespace };
    const first = await patchStatus<Widget>(clients, widgets, target, { phase: 'Ready', count: 2 });
    assert.deepEqual(first.status, { phase: 'Ready', count: 2 });
    // Merge semantics: null removes a field, others stay; /status ignores spec changes.
    const second = await patchStatus<Widget>(clients, widgets, target, { count: null, message: 'ok' });
    assert.deepEqual(second.status, { phase: 'Ready', message: 'ok' });
    const read = await clients.rest.request<Widget>('GET', resourcePath(widgets, namespace, 'w-status'));
    assert.deepEqual(read.spec, { size: 2, color: 'blue' });
    assert.deepEqual(read.status, { phase: 'Ready', message: 'ok' });
    // A stale resourceVersion is refused (optimistic concurrency).
    await assert.rejects(patchStatus(clients, widgets, target, { phase: 'Failed' }, { resourceVersion: w.metadata!.resourceVersion }), (err) => isConflict(err));
    await assert.rejects(mergePatch(clients, widgets, target, { spec: { size: 9 } }, { resourceVersion: w.metadata!.resourceVersion }), (err) => isConflict(err));
    const patched = await mergePatch<Widget>(clients, widgets, target, { spec: { size: 9 } }, { resourceVersion: read.metadata!.resourceVersion });
    assert.equal(patched.spec?.size, 9);
  });

  it('client-node 1.x sends a JSON Patch for CustomObjectsApi unless told otherwise (why status.ts sets the content type)', async () => {
    await assert.rejects(
      clients.customObjects.patchNamespacedCustomObjectStatus({ group: widgets.group, version: widgets.version, plural: widgets.plural, namespace, name: 'w-status', body: { status: { phase: 'X' } } }),
      (err) => [400, 415, 422].includes(statusCodeOf(err) ?? 0),
    );
  });

  it('records events.k8s.io Events on an object and folds repeats into a series', async () => {
    const core = controlPlane().kubeConfig().makeApiClient(k8s.CoreV1Api);
    const cm = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'evented' } } });
    const regarding = { ...cm, apiVersion: 'v1', kind: 'ConfigMap' };
    const recorder = new EventRecorder(clients, { reportingController: 'loam.io/test-controller', reportingInstance: 'test-1' });
    const input = { type: 'Warning' as const, reason: 'DiskUnsafe', action: 'Check', note: 'the disk has partitions' };
    const names = await Promise.all([recorder.record(regarding, input), recorder.record(regarding, input)]);
    assert.ok(names[0] && names[0] === names[1], 'one Event for the same thing');
    await recorder.record(regarding, input);
    await recorder.record(regarding, { ...input, reason: 'DiskClaimed', type: 'Normal', action: 'Bind', note: 'bound' });

    const list = await clients.rest.request<EventList>('GET', resourcePath(coreResources.events, namespace), { query: { fieldSelector: 'regarding.name=evented' } });
    assert.equal(list.items.length, 2);
    const unsafe = list.items.find((e) => e.reason === 'DiskUnsafe')!;
    assert.equal(unsafe.series?.count, 3);
    assert.equal(unsafe.type, 'Warning');
    assert.equal(unsafe.action, 'Check');
    assert.equal(unsafe.note, 'the disk has partitions');
    assert.equal(unsafe.reportingController, 'loam.io/test-controller');
    assert.equal(unsafe.reportingInstance, 'test-1');
    assert.deepEqual([unsafe.regarding.kind, unsafe.regarding.name, unsafe.regarding.uid], ['ConfigMap', 'evented', cm.metadata!.uid]);
    const claimed = list.items.find((e) => e.reason === 'DiskClaimed')!;
    assert.equal(claimed.series, undefined);
  });
});
