/**
 * A scripted HTTP server that speaks enough of the list/watch protocol for informer unit tests
 * (kube-apiserver 1.37 does not answer 410 on demand), and a KubeConfig that points at it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';

export interface Script {
  /** Objects each list returns, in turn (the last one repeats). */
  lists: string[][];
  /** How each watch answers: an ERROR event with 410, HTTP 410, or staying open. */
  watches: Array<'error-event' | 'http-410' | 'open'>;
  /** Answer every list with this HTTP error and a Status body instead (e.g. 403 Forbidden). */
  listError?: { code: number; reason: string; message: string };
}

export interface ScriptedServer {
  url: string;
  lists: number;
  /** The query of every list request, in order. */
  listQueries: URLSearchParams[];
  watchRvs: string[];
  close: () => Promise<void>;
}

function cm(name: string, rv: string): V1ConfigMap {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const state: ScriptedServer = { url: '', lists: 0, listQueries: [], watchRvs: [], close: async () => undefined };
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
    state.listQueries.push(url.searchParams);
    if (script.listError) {
      const { code, reason, message } = script.listError;
      res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }));
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

export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}
