/**
 * The controller's VolumeStore against a real API server: its waits must not depend on the watch
 * alone. A watch can go quiet without failing (a stalled connection); then only the API server
 * knows that a volume has gone, and a DeleteVolume waiting on the cache would run into its deadline.
 */
import assert from 'node:assert/strict';
import { apiVersion, loamResources, type LocalVolume } from '../../../src/api/index.js';
import { componentLogger } from '../../../src/common/logger.js';
import { VolumeStore } from '../../../src/csi/controller-store.js';
import { resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { clients, suffix } from '../ldm-claims/support.js';
import { cleanup } from '../localstorage-placement/support.js';
import { Gi } from './support.js';

describe('csi controller volume store (real API server)', function () {
  this.timeout(60_000);
  const run = suffix();
  let c: KubeClients;
  const volumes: string[] = [];

  before(() => {
    c = clients();
  });

  afterEach(async () => cleanup(c, volumes, []));

  it('a wait whose watch has gone quiet still sees the volume gone, from the API server, well before its deadline', async () => {
    const id = `pvc-quiet-${run}`;
    volumes.push(id);
    const body: LocalVolume = { apiVersion, kind: 'LocalVolume', metadata: { name: id }, spec: { poolClass: 'SSD', capacityBytes: Gi, replicaCount: 1 } };
    await c.rest.request('POST', resourcePath(loamResources.localVolumes), { body });
    const store = new VolumeStore(c, componentLogger('test-store'));
    store.informer.start();
    try {
      await store.informer.waitForSync(10_000);
      // The first list may come from the API server's watch cache (resourceVersion 0), which can lag
      // the create on a loaded machine; the watch then brings the volume in.
      const deadline = Date.now() + 10_000;
      while (!store.informer.cache.get(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(store.informer.cache.get(id), 'the cache has the volume');
    } finally {
      // The watch goes quiet: the cache keeps what it had while the server moves on.
      await store.informer.stop();
    }
    await c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, id));
    assert.ok(store.informer.cache.get(id), 'the cache still shows the deleted volume');

    const started = Date.now();
    const gone = await store.waitFor(id, (v) => (v ? undefined : true), { signal: new AbortController().signal, timeoutMs: 30_000, what: 'test wait' });
    assert.equal(gone, true);
    assert.ok(Date.now() - started < 5_000, `seen gone in ${Date.now() - started} ms, not at the 30 s deadline`);
  });
});
