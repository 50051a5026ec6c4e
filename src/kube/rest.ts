/**
 * A small JSON client for the Kubernetes REST API on top of a KubeConfig's own TLS and auth
 * (`applyToHTTPSOptions`, so exec plugins, token files and client certificates all work).
 *
 * Why not only the generated clients of @kubernetes/client-node: lists and watches here work for
 * any group/version/plural (core kinds and custom resources alike), a watch must be abortable at
 * any moment (also before the server has answered, which `Watch` does not allow), and MicroTime
 * fields (Lease, events.k8s.io Event) must be written in the exact format the server parses.
 * Errors are thrown as client-node's `ApiException` (`code`, `body` as text), like its own calls.
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  signal?: AbortSignal;
  /** Gives up after this long (default 30 s). */
  timeoutMs?: number;
}

/** One line of a watch stream. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions {
  query?: Query;
  signal: AbortSignal;
  /** Called once when the server has accepted the watch (HTTP 200). */
  onConnected?: () => void;
}

export class RestClient {
  /** One keep-alive agent per TLS configuration: a new TLS handshake per request dominated write-heavy loops. */
  private agent?: { key: string; agent: https.Agent };

  constructor(readonly kubeConfig: KubeConfig) {}

  /** Sends one request and parses the JSON answer; a non-2xx answer throws an ApiException. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const signal = AbortSignal.any([AbortSignal.timeout(Math.ceil(opts.timeoutMs ?? 30_000)), ...(opts.signal ? [opts.signal] : [])]);
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const res = await this.open(method, path, opts.query, signal, payload, opts.contentType ?? 'application/json');
    const text = await readAll(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw apiException(`${method} ${path}`, code, res, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Watches `path` and calls `onEvent` for every event until the server closes the stream
   * (resolves) or the request fails or is aborted (rejects). An HTTP error status throws an
   * ApiException; an ERROR event inside the stream is handed to `onEvent` like any other.
   */
  async watch<T>(path: string, opts: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    const res = await this.open('GET', path, { ...opts.query, watch: true }, opts.signal);
    const code = res.statusCode ?? 0;
    if (code !== 200) throw apiException(`WATCH ${path}`, code, res, await readAll(res));
    opts.onConnected?.();
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        lines.close();
        // Close the connection too: nobody reads this stream any more.
        res.destroy();
        reject(opts.signal.aborted ? opts.signal.reason : err);
      };
      lines.on('line', (line) => {
        if (failed || line.trim() === '') return;
        let event: WatchEvent<T>;
        try {
          event = JSON.parse(line) as WatchEvent<T>;
        } catch (err) {
          // A torn line means the stream is broken: end this watch so it is started again.
          fail(new Error(`unparsable watch line from ${path}`, { cause: err }));
          return;
        }
        try {
          onEvent(event);
        } catch (err) {
          fail(err);
        }
      });
      res.on('error', (err) => fail(err));
      res.on('aborted', () => fail(new Error(`watch of ${path} was cut`)));
      // An abort that lands between the response and these listeners (stop() right after sync)
      // has already destroyed the stream: readline would never close, so listen for it directly.
      const onAbort = (): void => fail(opts.signal.reason);
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
      lines.on('close', () => {
        opts.signal.removeEventListener('abort', onAbort);
        if (failed) return;
        if (opts.signal.aborted) reject(opts.signal.reason);
        else resolve();
      });
      res.on('close', () => {
        // The connection closed without an end of stream that readline saw.
        if (!res.complete) fail(new Error(`watch of ${path} was cut`));
      });
    });
  }

  private async open(method: string, path: string, query: Query | undefined, signal: AbortSignal, payload?: string, contentType?: string): Promise<http.IncomingMessage> {
    const server = this.kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kubeConfig.applyToHTTPSOptions(options);
    options.agent = this.reusableAgent(options.agent);
    const headers = options.headers as http.OutgoingHttpHeaders;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { ...options, headers, signal }, resolve);
      req.on('error', (err) => reject(signal.aborted ? signal.reason : err));
      req.end(payload);
    });
  }

  /**
   * client-node builds a fresh agent (without keep-alive) on every call; a plain https.Agent is
   * swapped for a cached keep-alive one with the same TLS options (a changed certificate, e.g. a
   * rotated client cert, makes a new one). Proxy agents are used as they come.
   */
  private reusableAgent(created: http.Agent | boolean | undefined): http.Agent | boolean | undefined {
    if (!(created instanceof https.Agent) || created.constructor !== https.Agent) return created;
    const tls = (created as https.Agent & { options: https.AgentOptions }).options;
    const key = JSON.stringify([tls.ca, tls.cert, tls.key, tls.pfx, tls.passphrase, tls.rejectUnauthorized, tls.servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    if (this.agent?.key !== key) {
      this.agent?.agent.destroy();
      this.agent = { key, agent: new https.Agent({ ...tls, keepAlive: true }) };
    }
    created.destroy();
    return this.agent.agent;
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function apiException(what: string, code: number, res: http.IncomingMessage, text: string): ApiException<string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return new ApiException<string>(code, `${what}: ${res.statusMessage ?? ''}`, text, headers);
}
