/** One informer per (resource, namespace, selectors) per process, shared by every part that asks for it. */
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { fieldIndex, labelIndex } from '../../../src/kube/cache.js';
import { coreResources } from '../../../src/kube/resource.js';
import { RestClient } from '../../../src/kube/rest.js';
import { SharedInformers } from '../../../src/kube/shared-informers.js';
import { kubeConfigFor, scriptedServer, type ScriptedServer } from './scripted-api.js';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('kube shared informers', () => {
  let server: ScriptedServer;
  let shared: SharedInformers;

  beforeEach(async () => {
    server = await scriptedServer({ lists: [['a', 'b']], watches: [] });
    shared = new SharedInformers(new RestClient(kubeConfigFor(server.url)));
  });

  afterEach(async () => {
    await shared.stopAll();
    await server.close();
  });

  const configMaps = (labelSelector?: string) => shared.informer<V1ConfigMap>({ resource: coreResources.configMaps, namespace: 'ns', labelSelector });

  it('hands every part that asks for the same resource and selector the same informer: one list, one watch', async () => {
    const a = configMaps('loam.io/node=n1');
    const b = configMaps('loam.io/node=n1');
    const other = configMaps('loam.io/node=n2');
    assert.equal(a, b);
    assert.notEqual(a, other);
    for (const i of [a, b, other]) i.start();
    await Promise.all([a.waitForSync(2000), other.waitForSync(2000)]);
    await until(() => server.watchRvs.length === 2, 'the watches');
    assert.equal(server.lists, 2, 'one list per distinct informer');
    assert.equal(shared.size, 2);
  });

  it('keeps watching until the last part that started it stops it', async () => {
    const a = configMaps();
    const b = configMaps();
    a.start();
    b.start();
    await a.waitForSync(2000);
    await a.stop();
    assert.equal(b.isStopped, false, 'still running for the second part');
    assert.equal(b.cache.size, 2);
    await b.stop();
    assert.equal(b.isStopped, true);
    assert.equal(shared.size, 0);
    // Asked for again, a stopped informer is replaced by a fresh one.
    const c = configMaps();
    assert.notEqual(c, a);
    c.start();
    await c.waitForSync(2000);
    assert.equal(server.lists, 2);
  });

  it('replays what the cache holds to a listener that arrives after the first sync', async () => {
    const first = configMaps();
    first.start();
    await first.waitForSync(2000);
    const late = configMaps();
    const seen: string[] = [];
    late.on('add', (o, source) => seen.push(`${o.metadata?.name} ${source}`));
    assert.deepEqual(seen.sort(), ['a list', 'b list']);
  });

  it('adds the indexes a later part asks for to the shared cache', async () => {
    const first = shared.informer<V1ConfigMap>({ resource: coreResources.configMaps, namespace: 'ns', indexers: { byNode: labelIndex('loam.io/node') } });
    first.start();
    await first.waitForSync(2000);
    const second = shared.informer<V1ConfigMap>({ resource: coreResources.configMaps, namespace: 'ns', indexers: { byName: fieldIndex((o: V1ConfigMap) => o.metadata?.name) } });
    assert.equal(second, first);
    assert.deepEqual(second.cache.byIndex('byName', 'a').map((o) => o.metadata?.name), ['a']);
    assert.deepEqual(second.cache.byIndex('byNode', 'x'), []);
  });
});
