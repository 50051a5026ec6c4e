/**
 * The gRPC server of the CSI driver on a unix socket. Services are plugged in independently:
 * loam-controller serves Identity + Controller, loam-node serves Identity + Node, each on its own
 * socket. The socket is made 0600 (only the kubelet / sidecars running as root reach it), and a
 * socket file left by a crashed predecessor is removed at start; any other kind of file at that
 * path is refused, never deleted.
 */
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { componentLogger, type Logger } from '../common/logger.js';
import type { ControllerHandlers } from './generated/csi/v1/Controller.js';
import type { IdentityHandlers } from './generated/csi/v1/Identity.js';
import type { NodeHandlers } from './generated/csi/v1/Node.js';
import type { ProtoGrpcType } from './generated/csi.js';
import { serviceHandlers, type AsyncService } from './interceptor.js';

export type IdentityService = AsyncService<IdentityHandlers>;
export type ControllerService = AsyncService<ControllerHandlers>;
export type NodeService = AsyncService<NodeHandlers>;

export const csiProtoPath = join(dirname(fileURLToPath(import.meta.url)), 'csi.proto');

/** The loader options the generated types were made with (`npm run gen:csi`); both must agree. */
export const csiLoaderOptions: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

let loaded: ProtoGrpcType | undefined;

/** The csi.v1 package: service definitions for the server, client constructors for tests and tools. */
export function csiGrpcObject(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(csiProtoPath, csiLoaderOptions)) as unknown as ProtoGrpcType;
  return loaded;
}

/** The socket path of `unix:///path`, `unix:/path` or a plain path. */
export function socketPathOf(endpoint: string): string {
  const path = endpoint.replace(/^unix:(\/\/)?/, '');
  if (!path.startsWith('/')) throw new Error(`CSI endpoint ${endpoint} must be an absolute unix socket path (unix:///path or /path)`);
  return path;
}

export interface CsiServerOptions {
  /** unix:///path/csi.sock or /path/csi.sock */
  endpoint: string;
  /** Mode of the socket file (default 0600). */
  socketMode?: number;
  logger?: Logger;
}

export class CsiServer {
  readonly socketPath: string;
  private readonly server = new grpc.Server();
  private readonly log: Logger;
  private readonly socketMode: number;
  private started = false;

  constructor(opts: CsiServerOptions) {
    this.socketPath = socketPathOf(opts.endpoint);
    this.socketMode = opts.socketMode ?? 0o600;
    this.log = opts.logger ?? componentLogger('csi');
  }

  addIdentity(impl: IdentityService): this {
    return this.add('Identity', csiGrpcObject().csi.v1.Identity.service, impl);
  }

  addController(impl: ControllerService): this {
    return this.add('Controller', csiGrpcObject().csi.v1.Controller.service, impl);
  }

  addNode(impl: NodeService): this {
    return this.add('Node', csiGrpcObject().csi.v1.Node.service, impl);
  }

  /** Any other service on a socket of the same kind (the kubelet's plugin registration, src/csi/registration.ts). */
  addService(name: string, definition: grpc.ServiceDefinition, impl: object): this {
    return this.add(name, definition, impl);
  }

  /** Binds the socket (removing a stale one) and serves. */
  async start(): Promise<void> {
    if (this.started) return;
    await mkdir(dirname(this.socketPath), { recursive: true });
    await removeStaleSocket(this.socketPath);
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(`unix:${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(new Error(`cannot listen on ${this.socketPath}: ${err.message}`, { cause: err })) : resolve()));
    });
    await chmod(this.socketPath, this.socketMode);
    this.started = true;
    this.log.info('CSI server listening', { socket: this.socketPath, mode: this.socketMode.toString(8) });
  }

  /** Lets running calls finish for up to `graceMs`, then cuts them, and removes the socket. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await rm(this.socketPath, { force: true });
    this.log.info('CSI server stopped', { socket: this.socketPath });
  }

  private add(name: string, definition: grpc.ServiceDefinition, impl: object): this {
    this.server.addService(definition, serviceHandlers(name, definition, impl, this.log));
    return this;
  }
}

/** Removes a socket file left behind; refuses to touch anything that is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  await rm(path, { force: true });
}
