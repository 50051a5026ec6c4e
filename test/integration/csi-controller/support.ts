/**
 * A real gRPC client of the driver's socket, made from the driver's own csi.proto (as a sidecar
 * would be), and the parts of a CreateVolume request the tests vary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CreateVolumeRequest } from '../../../src/csi/generated/csi/v1/CreateVolumeRequest.js';
import { createControllerService } from '../../../src/csi/controller-service.js';
import { serveCsiEndpoint } from '../../../src/csi/endpoint.js';
import { csiGrpcObject } from '../../../src/csi/server.js';
import type { KubeClients } from '../../../src/kube/index.js';
import { waitFor } from '../../../tools/testenv/wait.js';

export const Gi = 2 ** 30;

export type Service = 'Identity' | 'Controller' | 'Node';

/** One client per service on the socket; `call` sends a unary request with a deadline. */
export class CsiTestClient {
  private readonly clients: Record<Service, grpc.Client>;

  constructor(readonly socketPath: string) {
    const v1 = csiGrpcObject().csi.v1;
    const address = `unix:${socketPath}`;
    const insecure = grpc.credentials.createInsecure();
    this.clients = { Identity: new v1.Identity(address, insecure), Controller: new v1.Controller(address, insecure), Node: new v1.Node(address, insecure) };
  }

  call<Res = Record<string, unknown>>(service: Service, method: string, request: object, timeoutMs = 20_000): Promise<Res> {
    const client = this.clients[service] as unknown as Record<string, (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void>;
    return new Promise((resolve, reject) => {
      client[method]!.call(client, request, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Sends bytes that are not a valid message of the method, as a broken client might. */
  raw(path: string, bytes: Buffer): Promise<unknown> {
    const client = this.clients.Controller;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}

/** Probes until the driver reports ready, as a sidecar does at start (the socket is served before the caches are filled). */
export async function waitProbeReady(client: CsiTestClient, timeoutMs: number): Promise<void> {
  await waitFor('Probe to report ready', async () => (await client.call<{ ready?: { value: boolean } }>('Identity', 'Probe', {})).ready?.value === true, timeoutMs, 50);
}

/** Asserts a rejected call's gRPC status code and message. */
export function grpcError(code: grpc.status, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    if (e.code !== code) throw new Error(`expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`, { cause: err });
    if (!pattern.test(e.details)) throw new Error(`expected a message matching ${pattern}, got "${e.details}"`);
    return true;
  };
}

export function createRequest(name: string, overrides: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest {
  return {
    name,
    capacity_range: { required_bytes: Gi },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    parameters: { poolClass: 'SSD', 'csi.storage.k8s.io/pvc/namespace': 'apps', 'csi.storage.k8s.io/pvc/name': 'data' },
    ...overrides,
  };
}

/** A temp dir for sockets (short: unix socket paths are limited to 107 bytes). */
export async function socketDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'loam-csi-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A CreateVolume topology segment naming one node. */
export const topo = (node: string): { segments: Record<string, string> } => ({ segments: { 'topology.loam.io/node': node } });

/** The Controller endpoint as loam-controller serves it (serveCsiEndpoint), on a socket in a temporary folder, with a client. */
export async function startControllerEndpoint(c: KubeClients, waitTimeoutMs: number): Promise<{ client: CsiTestClient; stop: () => Promise<void> }> {
  const dirs = await socketDir();
  const endpoint = join(dirs.dir, 'controller.sock');
  const running = await serveCsiEndpoint({ endpoint, controller: createControllerService({ clients: c, waitTimeoutMs }) });
  const client = new CsiTestClient(endpoint);
  return {
    client,
    stop: async () => {
      client.close();
      await running.stop();
      await dirs.remove();
    },
  };
}

/** A TCP relay to the API server that starts listening only when told: an API server "down" until then. */
export function relayTo(apiPort: number, listenPort: number): { open: () => Promise<void>; close: () => Promise<void> } {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(apiPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => { client.destroy(); upstream.destroy(); });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  return {
    open: () => new Promise((resolve) => server.listen(listenPort, '127.0.0.1', () => resolve())),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    }),
  };
}
