/**
 * The informer's 410 branch against a scripted HTTP server that speaks the list/watch protocol
 * (kube-apiserver 1.37 does not answer 410 on demand; the real-server tests are in
 * test/integration/kube/informer.test.ts).
 */
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Informer, type RelistReason } from '../../../src/kube/informer.js';
import { coreResources } from '../../../src/kube/resource.js';
import { RestClient } from '../../../src/kube/rest.js';
import { kubeConfigFor, scriptedServer } from './scripted-api.js';

for (const mode of ['error-event', 'http-410'] as const) {
  describe(`kube informer on 410 (${mode})`, () => {
    it('relists, repairs the cache with synthetic events and watches from the new list', async () => {
      const server = await scriptedServer({ lists: [['a', 'b'], ['b', 'c']], watches: [mode, 'open'] });
      const informer = new Informer<V1ConfigMap>(new RestClient(kubeConfigFor(server.url)), { resource: coreResources.configMaps, namespace: 'ns', backoff: { baseMs: 10, maxMs: 50 } });
      const events: string[] = [];
      const relists: RelistReason[] = [];
      informer.on('add', (o, source) => events.push(`add ${o.metadata?.name} ${source}`));
      informer.on('update', (o, _old, source) => events.push(`update ${o.metadata?.name} ${source}`));
      informer.on('delete', (o, source) => events.push(`delete ${o.metadata?.name} ${source}`));
      informer.on('relisted', (info) => relists.push(info.reason));
      let errors = 0;
      informer.on('error', () => errors++);
      try {
        informer.start();
        await informer.waitForSync(2000);
        for (let i = 0; i < 100 && server.watchRvs.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(relists, ['initial', 'expired']);
        assert.equal(server.lists, 2);
        // The second watch starts from the second list's resourceVersion.
        assert.deepEqual(server.watchRvs, ['100', '200']);
        assert.deepEqual(events, ['add a list', 'add b list', 'delete a list', 'update b list', 'add c list']);
        assert.deepEqual(informer.cache.keys().sort(), ['ns/b', 'ns/c']);
        assert.equal(errors, 0);
      } finally {
        await informer.stop();
        await server.close();
      }
    });
  });
}
