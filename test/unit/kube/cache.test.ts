import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { diffSnapshot, fieldIndex, labelIndex, ObjectCache } from '../../../src/kube/cache.js';
import { objectKey, resourcePath, coreResources, resourceRef, splitKey } from '../../../src/kube/resource.js';

interface Disk extends KubernetesObject {
  spec?: { nodeName?: string };
}

function disk(name: string, rv: string, node?: string, labelNode?: string): Disk {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk', metadata: { name, resourceVersion: rv, labels: labelNode ? { 'loam.io/node': labelNode } : {} }, spec: { nodeName: node } };
}

describe('kube object cache', () => {
  it('keeps label and field indexes current through updates and removals', () => {
    const cache = new ObjectCache<Disk>({ byLabel: labelIndex('loam.io/node'), byNode: fieldIndex((d) => d.spec?.nodeName) });
    cache.upsert(disk('a', '1', 'n1', 'n1'));
    cache.upsert(disk('b', '1', 'n1', 'n1'));
    cache.upsert(disk('c', '1', 'n2'));
    assert.deepEqual(cache.byIndex('byNode', 'n1').map((d) => d.metadata?.name).sort(), ['a', 'b']);
    assert.deepEqual(cache.byIndex('byLabel', 'n2'), []);
    cache.upsert(disk('b', '2', 'n2', 'n2'));
    assert.deepEqual(cache.byIndex('byNode', 'n1').map((d) => d.metadata?.name), ['a']);
    assert.deepEqual(cache.byIndex('byLabel', 'n2').map((d) => d.metadata?.name), ['b']);
    assert.equal(cache.remove('a')?.metadata?.name, 'a');
    assert.deepEqual(cache.byIndex('byNode', 'n1'), []);
    assert.equal(cache.size, 2);
    assert.throws(() => cache.byIndex('nope', 'x'), /no index named nope/);
  });

  it('diffs a fresh list against the cache into adds, updates and deletes', () => {
    const cache = new ObjectCache<Disk>();
    cache.upsert(disk('same', '1'));
    cache.upsert(disk('changed', '1'));
    cache.upsert(disk('gone', '1'));
    const diff = diffSnapshot(cache, [disk('same', '1'), disk('changed', '2'), disk('new', '5')]);
    assert.deepEqual(diff.added.map((d) => d.metadata?.name), ['new']);
    assert.deepEqual(diff.updated.map((u) => [u.old.metadata?.resourceVersion, u.obj.metadata?.resourceVersion]), [['1', '2']]);
    assert.deepEqual(diff.deleted.map((d) => d.metadata?.name), ['gone']);
  });

  it('keys and paths follow the API conventions', () => {
    assert.equal(objectKey({ metadata: { name: 'x', namespace: 'ns' } }), 'ns/x');
    assert.equal(objectKey({ metadata: { name: 'x' } }), 'x');
    assert.deepEqual(splitKey('ns/x'), { namespace: 'ns', name: 'x' });
    assert.deepEqual(splitKey('x'), { name: 'x' });
    assert.equal(resourcePath(coreResources.configMaps, 'ns', 'a'), '/api/v1/namespaces/ns/configmaps/a');
    assert.equal(resourcePath(coreResources.configMaps), '/api/v1/configmaps');
    const ld = resourceRef('loam.io', 'v1alpha1', 'localdisks', 'LocalDisk', false);
    assert.equal(resourcePath(ld, undefined, 'd1', 'status'), '/apis/loam.io/v1alpha1/localdisks/d1/status');
    assert.throws(() => resourcePath(coreResources.configMaps, undefined, 'a'), /namespace is required/);
  });
});
