/**
 * The egress proxy of the test control plane in cluster mode: kube-apiserver's `cluster` egress (its
 * connections to kubelets, pods and services: `kubectl logs/exec/port-forward`, the node and service
 * proxies) goes over a unix socket to this HTTP CONNECT proxy instead of to the network. It records
 * every target and refuses each one, so a mistaken call fails on the host with a clear error and the
 * host never dials a guest address or anything off loopback, except the targets the harness forwards:
 * `forward('10.0.2.15:10250', port)` joins that node address to a loopback port (QEMU
 * `hostfwd=tcp:127.0.0.1:<port>-:10250`), so those calls work without a packet leaving loopback.
 * Names are never resolved: the target is taken as kube-apiserver wrote it. A second instance with
 * `loopback` serves the `controlplane` egress (webhooks called by URL): 127.0.0.1 passes, nothing else.
 */
import net from 'node:net';
import { rm } from 'node:fs/promises';

export interface EgressAttempt {
  /** `host:port` as kube-apiserver asked for it. */
  target: string;
  /** True when it went to a loopback port (forwarded, or allowed); false when refused. */
  forwarded: boolean;
}

/** The most a CONNECT request head may take; kube-apiserver's is a few hundred bytes. */
const maxHead = 16 * 1024;

export class EgressProxy {
  /** Every CONNECT seen, in order. */
  readonly attempts: EgressAttempt[] = [];
  private readonly forwards = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly socketPath: string, private readonly server: net.Server, private readonly loopback: boolean) {}

  /**
   * Listens on the unix socket `socketPath` (removed first if left over). With `loopback`, targets on
   * 127.0.0.1 pass too (the `controlplane` egress: webhooks the tests serve on the host by URL).
   */
  static async start(socketPath: string, opts: { loopback?: boolean } = {}): Promise<EgressProxy> {
    await rm(socketPath, { force: true });
    const server = net.createServer();
    const proxy = new EgressProxy(socketPath, server, opts.loopback ?? false);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return proxy;
  }

  /** Lets `target` (`address:port`, as in the node's status) through to 127.0.0.1:`loopbackPort`. */
  forward(target: string, loopbackPort: number): void {
    this.forwards.set(target, loopbackPort);
  }

  /** Refuses `target` again. */
  unforward(target: string): void {
    this.forwards.delete(target);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private accept(client: net.Socket): void {
    this.track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > maxHead) client.destroy();
        return;
      }
      client.off('data', onData);
      this.connect(client, head.subarray(0, end).toString('latin1'), head.subarray(end + 4));
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  }

  private connect(client: net.Socket, head: string, rest: Buffer): void {
    const [method, target = ''] = head.split('\r\n')[0]?.split(' ') ?? [];
    if (method !== 'CONNECT') {
      refuse(client, 405, `loam testenv egress proxy: only CONNECT, not ${method}`);
      return;
    }
    const port = this.forwards.get(target) ?? (this.loopback ? loopbackPort(target) : undefined);
    this.attempts.push({ target, forwarded: port !== undefined });
    if (port === undefined) {
      refuse(client, 403, `loam testenv: the host never dials ${target} (nothing off loopback); ` +
        'read pod logs and exec inside the guest (the harness agent), or forward this node address to a loopback port');
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port });
    this.track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (err) => {
      if (!connected) refuse(client, 502, `loam testenv: forwarded ${target} to 127.0.0.1:${port}: ${err.message}`);
      else client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

/** The port of a `127.0.0.1:<port>` target, else undefined. */
function loopbackPort(target: string): number | undefined {
  const match = /^127\.0\.0\.1:(\d{1,5})$/.exec(target);
  return match ? Number(match[1]) : undefined;
}

/** Answers with `code` and `message` as the reason phrase: kube-apiserver shows the status line, not the body. */
function refuse(client: net.Socket, code: number, message: string): void {
  const line = message.replace(/[\r\n]+/g, ' ');
  client.end(`HTTP/1.1 ${code} ${line}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(line)}\r\nConnection: close\r\n\r\n${line}`);
}
