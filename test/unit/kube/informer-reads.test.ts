/**
 * What the informer asks the API server for: lists from the watch cache, never a quorum read of
 * etcd; and how it reports a list the server refuses for good (403, 400, 404, 422) — as what it
 * is, not as a lost connection.
 */
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Informer } from '../../../src/kube/informer.js';
import { coreResources } from '../../../src/kube/resource.js';
import { RestClient } from '../../../src/kube/rest.js';
import { capturingLogger } from './log-capture.js';
import { kubeConfigFor, scriptedServer } from './scripted-api.js';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('kube informer reads', () => {
  it('lists from the watch cache: resourceVersion=0 first, then not older than what it has seen on every relist', async () => {
    const server = await scriptedServer({ lists: [['a'], ['a', 'b']], watches: ['open', 'open'] });
    const informer = new Informer<V1ConfigMap>(new RestClient(kubeConfigFor(server.url)), { resource: coreResources.configMaps, namespace: 'ns', resyncMs: 100, backoff: { baseMs: 10, maxMs: 50 } });
    try {
      informer.start();
      await informer.waitForSync(2000);
      await until(() => server.lists >= 2, 'the periodic relist');
      const [first, relist] = server.listQueries.map((q) => ({ resourceVersion: q.get('resourceVersion'), match: q.get('resourceVersionMatch') }));
      // "0": any version the API server's watch cache holds; an empty one would be a quorum read of etcd.
      assert.deepEqual(first, { resourceVersion: '0', match: null });
      // The relist may not go back behind the cache: not older than the first list's version.
      assert.deepEqual(relist, { resourceVersion: '100', match: 'NotOlderThan' });
      await until(() => informer.cache.size === 2, 'the relist applied');
    } finally {
      await informer.stop();
      await server.close();
    }
  });

  for (const [code, reason, message] of [
    [403, 'Forbidden', 'configmaps is forbidden: User "system:serviceaccount:loam-system:loam-node" cannot list resource "configmaps" in API group "" in the namespace "ns"'],
    [400, 'BadRequest', 'unable to parse requirement: found \'!\', expected: identifier'],
    [422, 'Invalid', 'the request is invalid'],
  ] as const) {
    it(`logs a list refused with ${code} ${reason} as a refusal that retrying will not fix, not as a lost connection`, async () => {
      const server = await scriptedServer({ lists: [[]], watches: [], listError: { code, reason, message } });
      const { logger, lines } = capturingLogger();
      const informer = new Informer<V1ConfigMap>(new RestClient(kubeConfigFor(server.url)), { resource: coreResources.configMaps, namespace: 'ns', backoff: { baseMs: 10, maxMs: 20 }, logger });
      try {
        informer.start();
        await until(() => server.listQueries.length >= 2, 'a second try');
        const refused = lines.filter((l) => l.level === 'error' && /the API server refused the request/.test(String(l.message)));
        assert.ok(refused.length >= 1, JSON.stringify(lines));
        assert.equal(refused[0]!.code, code);
        assert.match(String(refused[0]!.reason), new RegExp(`^${code} ${reason}: ${message.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        assert.match(String(refused[0]!.message), /not a connection problem/);
        assert.deepEqual(lines.filter((l) => /connection lost/.test(String(l.message))), [], 'no line calls it a lost connection');
      } finally {
        await informer.stop();
        await server.close();
      }
    });
  }

  it('still calls a server that cannot be reached a lost connection', async () => {
    const server = await scriptedServer({ lists: [[]], watches: [] });
    await server.close();
    const { logger, lines } = capturingLogger();
    const informer = new Informer<V1ConfigMap>(new RestClient(kubeConfigFor(server.url)), { resource: coreResources.configMaps, namespace: 'ns', backoff: { baseMs: 10, maxMs: 20 }, logger });
    try {
      informer.start();
      await until(() => lines.some((l) => /connection lost; retrying/.test(String(l.message))), 'the connection-lost line');
      assert.deepEqual(lines.filter((l) => /refused the request/.test(String(l.message))), []);
    } finally {
      await informer.stop();
    }
  });
});
