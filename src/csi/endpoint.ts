/**
 * One CSI endpoint as an entry point runs it: the service's caches started (the Controller's fill
 * while it already serves; Probe says when they are ready), then Identity plus the Controller
 * (loam-controller) or Node (loam-node) service on the unix socket; stopped in reverse.
 */
import type { Logger } from '../common/logger.js';
import { createControllerService } from './controller-service.js';
import { createIdentityService } from './identity.js';
import { createNodeService } from './node-service.js';
import { CsiServer } from './server.js';

type ControllerPart = ReturnType<typeof createControllerService>;
type NodePart = ReturnType<typeof createNodeService>;

export interface CsiEndpointOptions {
  /** `unix:///path` or a plain path. */
  endpoint: string;
  controller?: ControllerPart;
  node?: NodePart;
  logger?: Logger;
}

export interface RunningCsiEndpoint {
  stop(): Promise<void>;
}

export async function serveCsiEndpoint(opts: CsiEndpointOptions): Promise<RunningCsiEndpoint> {
  const part = opts.controller ?? opts.node;
  if (!part || (opts.controller && opts.node)) throw new Error('serveCsiEndpoint: give exactly one of controller or node');
  let started = false;
  await part.start();
  started = true;
  const server = new CsiServer({ endpoint: opts.endpoint, logger: opts.logger });
  server.addIdentity(createIdentityService({
    ready: () => (opts.controller ? opts.controller.ready() : started),
    // Plugin capabilities describe the driver as a whole (CSI spec), and lvm.loam.io has a
    // Controller service even where this socket serves only the Node service; csi-sanity and
    // COs read them from whichever socket they hold.
    controller: true,
  }));
  if (opts.controller) server.addController(opts.controller);
  if (opts.node) server.addNode(opts.node);
  try {
    await server.start();
  } catch (err) {
    await part.stop();
    throw err;
  }
  return {
    stop: async () => {
      await server.stop();
      await part.stop();
    },
  };
}
