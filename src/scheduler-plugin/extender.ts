/**
 * The kube-scheduler extender over HTTP: `POST /scheduler/filter` and `POST /scheduler/prioritize`
 * (`nodeCacheCapable: true`, so requests carry node names, not Node objects), `GET /healthz` (200 once
 * the caches have synced) and `GET /metrics`. Answers come from informer caches only.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { componentLogger } from '../common/logger.js';
import { filterNodes } from './filter.js';
import { BadRequest, closeServer, listenOn, readJson, replyJson } from './http.js';
import { ExtenderMetrics } from './metrics.js';
import { Reservations } from './reservations.js';
import { scoreNodes, type ScorePolicy } from './score.js';
import type { ClusterView } from './view.js';

const log = componentLogger('scheduler-extender');

export interface ExtenderOptions {
  view: ClusterView & { hasSynced(): boolean };
  policy?: ScorePolicy;
  reservations?: Reservations;
  metrics?: ExtenderMetrics;
}

interface ExtenderArgs {
  pod: V1Pod;
  nodeNames: string[];
}

/** Reads ExtenderArgs; Go's encoder writes `Pod`/`NodeNames`, and field names are matched without case. */
function parseArgs(body: unknown): ExtenderArgs {
  if (typeof body !== 'object' || body === null) throw new BadRequest('expected an ExtenderArgs object');
  const fields = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  const pod = fields.get('pod') as V1Pod | undefined;
  if (!pod || typeof pod !== 'object' || !pod.metadata) throw new BadRequest('ExtenderArgs.Pod is missing');
  const names = fields.get('nodenames');
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new BadRequest('ExtenderArgs.NodeNames is missing: configure the extender with nodeCacheCapable: true');
  }
  return { pod, nodeNames: names };
}

export class Extender {
  readonly metrics: ExtenderMetrics;
  readonly reservations: Reservations;
  private readonly view: ExtenderOptions['view'];
  private readonly policy: ScorePolicy;
  private server?: http.Server;
  private evictedSeen = 0;
  private evictionLoggedAt = -Infinity;

  constructor(opts: ExtenderOptions) {
    this.view = opts.view;
    this.policy = opts.policy ?? 'binpack';
    this.reservations = opts.reservations ?? new Reservations();
    this.metrics = opts.metrics ?? new ExtenderMetrics();
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    const address = await listenOn(this.server, port, host);
    log.info('extender listening', { address: address.address, port: address.port, policy: this.policy });
    return address;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  /** True while the server accepts connections. */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** The request handler, exposed so benchmarks can call it without a socket. */
  filter(body: unknown): ReturnType<typeof filterNodes> {
    const { pod, nodeNames } = parseArgs(body);
    const result = filterNodes(pod, nodeNames, this.view, this.reservations);
    this.metrics.reservations.set(this.reservations.size);
    this.countEvictions();
    return result;
  }

  /** A full table means far more waiting claims than a cluster has, or filter calls made up to fill it: say so, once a minute at most. */
  private countEvictions(): void {
    const evicted = this.reservations.evicted - this.evictedSeen;
    if (evicted <= 0) return;
    this.evictedSeen += evicted;
    this.metrics.evictions.inc(evicted);
    const now = Date.now();
    if (now - this.evictionLoggedAt < 60_000) return;
    this.evictionLoggedAt = now;
    log.warn('reservation table full: oldest reservations evicted', { evicted: this.evictedSeen, held: this.reservations.size });
  }

  prioritize(body: unknown): ReturnType<typeof scoreNodes> {
    const { pod, nodeNames } = parseArgs(body);
    return scoreNodes(pod, nodeNames, this.view, this.reservations, this.policy);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url?.split('?')[0];
    if (req.method === 'GET' && url === '/healthz') {
      const ok = this.view.hasSynced();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'caches not synced');
      return;
    }
    if (req.method === 'GET' && url === '/metrics') {
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(await this.metrics.registry.metrics());
      return;
    }
    const verb = url === '/scheduler/filter' ? 'filter' : url === '/scheduler/prioritize' ? 'prioritize' : undefined;
    if (req.method !== 'POST' || !verb) {
      replyJson(res, 404, { error: `no route for ${req.method} ${url}; use POST /scheduler/filter or /scheduler/prioritize` });
      return;
    }
    const end = this.metrics.latency.startTimer({ verb });
    try {
      const body = await readJson(req);
      const result = verb === 'filter' ? this.filter(body) : this.prioritize(body);
      replyJson(res, 200, result);
      end({ outcome: 'ok' });
    } catch (err) {
      const bad = err instanceof BadRequest;
      log.warn('extender request failed', { verb, error: (err as Error).message });
      replyJson(res, bad ? 400 : 500, verb === 'filter' ? { Error: `loam: ${(err as Error).message}` } : { error: (err as Error).message });
      end({ outcome: bad ? 'bad_request' : 'error' });
    }
  }
}
