/**
 * The informer's 410 branch against a scripted HTTP server that speaks the list/watch protocol
 * (kube-apiserver 1.37 does not answer 410 on demand; the real-server tests are in
 * test/integration/kube/informer.test.ts).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { Informer, type RelistReason } from '../../../src/kube/informer.js';
import { coreResources } from '../../../src/kube/resource.js';
import { RestClient } from '../../../src/kube/rest.js';

interface Script {
  /** Objects each list returns, in turn (the last one repeats). */
  lists: string[][];
  /** How each watch answers: an ERROR event with 410, HTTP 410, or staying open. */
  watches: Array<'error-event' | 'http-410' | 'open'>;
}

function cm(name: string, rv: string): V1ConfigMap {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

async function scriptedServer(script: Script): Promise<{ url: string; lists: number; watchRvs: string[]; close: () => Promise<void> }> {
  const state = { url: '', lists: 0, watchRvs: [] as string[], close: async () => undefined as void };
  const open: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      const mode = script.watches[state.watchRvs.length] ?? 'open';
      state.watchRvs.push(url.searchParams.get('resourceVersion') ?? '');
      if (mode === 'http-410') {
        res.writeHead(410, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (mode === 'error-event') res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (100)' } }) + '\n');
      else open.push(res);
      return;
    }
    const names = script.lists[Math.min(state.lists, script.lists.length - 1)]!;
    state.lists++;
    const rv = String(100 * state.lists);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: rv }, items: names.map((n) => cm(n, `${rv}-${n}`)) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const res of open) res.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

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
