/**
 * The health endpoints of a Loam server (`--health-listen HOST:PORT`): `GET /healthz` for the
 * kubelet's liveness probe and `GET /readyz` for its readiness probe. Each binary registers the
 * checks that say what "alive" and "ready" mean for it; this module only runs them and answers
 * `200 ok`, or `503` with one line naming the first check that failed and why.
 *
 * Readiness includes liveness: a process that is not alive is not ready either. Checks run in the
 * order they were added, each within a bound (a check that hangs fails, as a wedged process must),
 * so the first reason is the most basic one. Changes of the verdict are logged once, not each probe.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { componentLogger, type Logger } from './logger.js';
import { parseHostPort } from './host-port.js';

/** A check: undefined when well, else the reason it is not (one line). */
export type HealthCheck = () => string | undefined | Promise<string | undefined>;

export type HealthKind = 'live' | 'ready';

export interface Verdict {
  ok: boolean;
  /** `<check>: <reason>` of the first failing check. */
  reason?: string;
}

export interface HealthServerOptions {
  logger?: Logger;
  /** How long one check may take before it counts as failed (default 4 s, under the kubelet's 1 s..timeoutSeconds). */
  checkTimeoutMs?: number;
}

const paths: Record<string, HealthKind> = { '/healthz': 'live', '/readyz': 'ready' };

export class HealthServer {
  private readonly checks: Array<{ kind: HealthKind; name: string; check: HealthCheck }> = [];
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly last = new Map<HealthKind, string>();
  private server?: http.Server;

  constructor(opts: HealthServerOptions = {}) {
    this.log = opts.logger ?? componentLogger('health');
    this.timeoutMs = opts.checkTimeoutMs ?? 4_000;
  }

  /** Adds a liveness check (also part of readiness). */
  live(name: string, check: HealthCheck): this {
    this.checks.push({ kind: 'live', name, check });
    return this;
  }

  /** Adds a readiness check. */
  ready(name: string, check: HealthCheck): this {
    this.checks.push({ kind: 'ready', name, check });
    return this;
  }

  /** Runs the checks of `kind` (readiness: the liveness ones first) and says whether all pass. */
  async evaluate(kind: HealthKind): Promise<Verdict> {
    const wanted = kind === 'live' ? this.checks.filter((c) => c.kind === 'live') : [...this.checks.filter((c) => c.kind === 'live'), ...this.checks.filter((c) => c.kind === 'ready')];
    for (const { name, check } of wanted) {
      const reason = await this.run(name, check);
      if (reason !== undefined) return { ok: false, reason: oneLine(`${name}: ${reason}`) };
    }
    return { ok: true };
  }

  /** Serves the endpoints on `HOST:PORT` (`flag` names the option in errors). */
  async listen(hostPort: string, flag = 'health-listen'): Promise<AddressInfo> {
    const { host, port } = parseHostPort(hostPort, flag);
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`cannot serve the health endpoints on ${hostPort}: ${err.message}`, { cause: err })));
      server.listen(port, host, resolve);
    });
    const address = server.address() as AddressInfo;
    this.log.info('health endpoints served', { address: address.address, port: address.port, paths: Object.keys(paths) });
    return address;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const kind = paths[req.url?.split('?')[0] ?? ''];
    if (!kind || (req.method !== 'GET' && req.method !== 'HEAD')) {
      reply(res, 404, 'use GET /healthz or GET /readyz');
      return;
    }
    const verdict = await this.evaluate(kind);
    const text = verdict.ok ? 'ok' : verdict.reason!;
    if (this.last.get(kind) !== text) {
      this.last.set(kind, text);
      if (verdict.ok) this.log.info(kind === 'live' ? 'alive' : 'ready');
      else this.log.warn(kind === 'live' ? 'not alive' : 'not ready', { reason: text });
    }
    reply(res, verdict.ok ? 200 : 503, text);
  }

  private async run(name: string, check: HealthCheck): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(check), timeout]);
    } catch (err) {
      return (err as Error).message ?? String(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
