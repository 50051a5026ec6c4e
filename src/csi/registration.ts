/**
 * Registration of lvm.loam.io with the kubelet, served by loam-node itself (the job of
 * node-driver-registrar, which Loam does not ship): the kubelet's plugin watcher finds
 * `<registration dir>/lvm.loam.io-reg.sock`, calls GetInfo (which CSI socket to use, which CSI
 * versions), registers the driver (CSINode, NodeGetInfo over that socket) and reports the outcome
 * with NotifyRegistrationStatus. The outcome is kept for loam-node's readiness.
 *
 * The socket is re-served when it disappears (someone cleaned plugins_registry, a kubelet
 * reinstalled): the kubelet deregisters a plugin whose socket is gone and registers it again when
 * one appears, so a cheap periodic check is enough, as in node-driver-registrar. Until the kubelet
 * has registered the new socket, the driver counts as not registered.
 */
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { componentLogger, type Logger } from '../common/logger.js';
import type { ProtoGrpcType } from './generated/pluginregistration.js';
import type { PluginInfo } from './generated/pluginregistration/PluginInfo.js';
import type { RegistrationHandlers } from './generated/pluginregistration/Registration.js';
import type { RegistrationStatus__Output } from './generated/pluginregistration/RegistrationStatus.js';
import type { RegistrationStatusResponse } from './generated/pluginregistration/RegistrationStatusResponse.js';
import type { AsyncService } from './interceptor.js';
import { csiLoaderOptions, CsiServer, socketPathOf } from './server.js';
import { driverName } from './validate.js';

export const registrationProtoPath = join(dirname(fileURLToPath(import.meta.url)), 'pluginregistration.proto');

/** The kubelet's name for a CSI driver's kind of plugin. */
export const csiPluginType = 'CSIPlugin';
/** The CSI versions lvm.loam.io speaks (what the kubelet checks it can talk). */
export const supportedCsiVersions = ['1.0.0'];

let loaded: ProtoGrpcType | undefined;

/** The pluginregistration package: the service for loam-node, a client constructor for tests (acting as the kubelet). */
export function registrationGrpcObject(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(registrationProtoPath, csiLoaderOptions)) as unknown as ProtoGrpcType;
  return loaded;
}

/** The registration socket of lvm.loam.io in the kubelet's plugins_registry folder. */
export function registrationSocketPath(registrationDir: string): string {
  return join(registrationDir, `${driverName}-reg.sock`);
}

export interface RegistrationState {
  /** The kubelet said the driver is registered. */
  registered: boolean;
  /** The kubelet's reason for refusing it, or ours for not knowing yet. */
  error?: string;
}

export interface KubeletRegistrationOptions {
  /** The kubelet's plugins_registry folder (as mounted in this container). */
  registrationDir: string;
  /** The CSI socket as the kubelet sees it on the host: `unix:///path` or `/path`. */
  csiEndpoint: string;
  /** How often the socket file's presence is checked (default 10 s). */
  recheckMs?: number;
  logger?: Logger;
}

export class KubeletRegistration {
  readonly socketPath: string;
  private readonly endpoint: string;
  private readonly log: Logger;
  private server?: CsiServer;
  private state: RegistrationState;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(private readonly opts: KubeletRegistrationOptions) {
    this.socketPath = registrationSocketPath(opts.registrationDir);
    this.endpoint = socketPathOf(opts.csiEndpoint);
    this.log = opts.logger ?? componentLogger('kubelet-registration');
    this.state = this.waiting();
  }

  /** What the kubelet last said (not registered until it has said so). */
  status(): RegistrationState {
    return { ...this.state };
  }

  /** Serves the registration socket and keeps it there. */
  async start(): Promise<void> {
    await this.serve();
    this.timer = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = undefined));
    }, this.opts.recheckMs ?? 10_000);
    this.timer.unref();
  }

  /** Stops serving and removes the socket: the kubelet then deregisters the driver. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
    await this.server?.stop(1_000);
    this.server = undefined;
  }

  /** The service's methods (exposed for tests without a socket). */
  readonly service: AsyncService<RegistrationHandlers> = {
    GetInfo: async (): Promise<PluginInfo> => ({ type: csiPluginType, name: driverName, endpoint: this.endpoint, supported_versions: supportedCsiVersions }),
    NotifyRegistrationStatus: async (req: RegistrationStatus__Output): Promise<RegistrationStatusResponse> => {
      if (req.plugin_registered) {
        this.state = { registered: true };
        this.log.info('registered with the kubelet', { driver: driverName, endpoint: this.endpoint });
      } else {
        const error = req.error || 'the kubelet gave no reason';
        this.state = { registered: false, error: `the kubelet refused the registration: ${error}` };
        this.log.error('the kubelet refused to register the driver', { driver: driverName, endpoint: this.endpoint, error });
      }
      return {};
    },
  };

  private waiting(): RegistrationState {
    return { registered: false, error: `the kubelet has not registered the driver yet (it reads ${this.socketPath})` };
  }

  private async serve(): Promise<void> {
    const server = new CsiServer({ endpoint: this.socketPath, logger: this.log })
      .addService('Registration', registrationGrpcObject().pluginregistration.Registration.service, this.service);
    await server.start();
    this.server = server;
    this.state = this.waiting();
  }

  private async check(): Promise<void> {
    try {
      await lstat(this.socketPath);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn('cannot check the registration socket', { socket: this.socketPath, error: (err as Error).message });
        return;
      }
    }
    this.log.warn('the registration socket was removed; serving it again so the kubelet registers the driver again', { socket: this.socketPath });
    try {
      await this.server?.stop(1_000);
      this.server = undefined;
      if (this.timer) await this.serve();
    } catch (err) {
      this.log.error('cannot serve the registration socket again; retrying at the next check', { socket: this.socketPath, error: (err as Error).message });
    }
  }
}
