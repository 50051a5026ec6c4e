#!/usr/bin/env node
/**
 * loam-controller: the cluster-wide controllers of Loam: the LocalDiskClaim binder and the
 * VolumePlacer (LocalVolume placement, status, deletion, node deletion policy). Wiring only.
 *
 *   loam-controller [--kubeconfig K] [--leader-elect true|false] [--lease-namespace loam-system]
 *                   [--lease-name loam-controller] [--identity ID] [--workers 2] [--log-level info]
 *                   [--node-grace-seconds 600] [--stale-heartbeat-seconds 90] [--csi-endpoint unix:///csi/csi.sock]
 *                   [--health-listen 0.0.0.0:9809] [--help]
 * The CSI Controller service (lvm.loam.io) is served on --csi-endpoint by every replica, leader or
 * not: it only writes LocalVolumes, and its sidecars elect their own leader.
 * --health-listen: GET /healthz (the CSI socket answers Probe) and /readyz (the API server answered;
 * the CSI socket is served and its caches are filled) on HOST:PORT, on every replica, leader or not.
 * Every flag has an environment equivalent: LOAM_KUBECONFIG, LOAM_LEADER_ELECT, LOAM_LEASE_NAMESPACE, ...
 * Logs are JSON on stderr. SIGTERM/SIGINT stop the work, release the Lease and exit 0.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { coreResources, createKubeClients, isAlreadyExists, isNotFound, isTransient, LeaderElector, loadKubeConfig, resourcePath, SharedInformers, withRetry, type KubeClients } from '../kube/index.js';
import { ClaimBinder } from '../ldm/claim-binder.js';
import { defaultStaleAfterMs } from '../localstorage/node-liveness.js';
import { VolumePlacer } from '../localstorage/volume-placer.js';
import { createControllerService } from '../csi/controller-service.js';
import { serveCsiEndpoint, type RunningCsiEndpoint } from '../csi/endpoint.js';
import { IdentityProbe } from '../csi/identity-probe.js';
import { HealthServer } from '../common/health-server.js';
import { usageOf } from '../common/usage.js';

const env = (name: string): string | undefined => process.env[`LOAM_${name.toUpperCase().replace(/-/g, '_')}`];
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env('kubeconfig') },
    'leader-elect': { type: 'string', default: env('leader-elect') ?? 'true' },
    'lease-namespace': { type: 'string', default: env('lease-namespace') ?? 'loam-system' },
    'lease-name': { type: 'string', default: env('lease-name') ?? 'loam-controller' },
    identity: { type: 'string', default: env('identity') ?? `${os.hostname()}-${randomBytes(3).toString('hex')}` },
    workers: { type: 'string', default: env('workers') ?? '2' },
    'log-level': { type: 'string', default: env('log-level') ?? 'info' },
    // How long a Node must be gone, and its agents silent, before its Loam objects are deleted.
    'node-grace-seconds': { type: 'string', default: env('node-grace-seconds') ?? '600' },
    // A node whose agent has not reported for this long gets no new volumes (placement and GetCapacity alike).
    'stale-heartbeat-seconds': { type: 'string', default: env('stale-heartbeat-seconds') ?? String(defaultStaleAfterMs / 1000) },
    // Unix socket of the CSI Controller service; empty: not served.
    'csi-endpoint': { type: 'string', default: env('csi-endpoint') ?? '' },
    // HOST:PORT of /healthz and /readyz; empty: not served.
    'health-listen': { type: 'string', default: env('health-listen') ?? '' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(usageOf(import.meta.url));
  process.exit(0);
}
setLogLevel(values['log-level']!);
const log = componentLogger('loam-controller');

function flagBoolean(value: string, flag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`--${flag} must be true or false, got "${value}"`);
}

/**
 * The Lease lives in a namespace; make it if it is missing, or say plainly what to do. An API
 * server that does not answer yet is waited for (the CSI socket is served meanwhile), not a crash.
 */
async function ensureNamespace(clients: KubeClients, name: string, signal: AbortSignal): Promise<void> {
  let logged = false;
  try {
    await withRetry(() => clients.rest.request('GET', resourcePath(coreResources.namespaces, undefined, name)), {
      attempts: Infinity,
      backoff: { baseMs: 500, maxMs: 10_000, jitter: 0.2 },
      signal,
      retryable: (err) => {
        if (!isTransient(err)) return false;
        if (!logged) log.warn('the API server does not answer yet; waiting for it', { error: (err as Error).message });
        logged = true;
        return true;
      },
    });
    return;
  } catch (err) {
    // Shutting down while waiting: main() returns and the signal handler ends the process.
    if (signal.aborted) return;
    if (!isNotFound(err)) throw new Error(`cannot read namespace ${name} for the leader Lease`, { cause: err });
  }
  try {
    await clients.rest.request('POST', resourcePath(coreResources.namespaces), { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
    log.info('created the namespace of the leader Lease', { namespace: name });
  } catch (err) {
    if (isAlreadyExists(err)) return;
    throw new Error(`namespace ${name} (for the leader Lease) does not exist and could not be created: create it, or pass --lease-namespace with one that exists`, { cause: err });
  }
}

/** The controllers of one leadership term, started and stopped together. */
class Controllers {
  constructor(private readonly parts: Array<ClaimBinder | VolumePlacer>) {}
  async start(signal: AbortSignal): Promise<void> {
    await Promise.all(this.parts.map((p) => p.start(signal)));
  }
  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    await Promise.all(this.parts.map((p) => p.stop(opts)));
  }
}

async function main(): Promise<void> {
  const leaderElect = flagBoolean(values['leader-elect']!, 'leader-elect');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got "${values.workers}"`);
  const nodeGraceSeconds = Number(values['node-grace-seconds']);
  if (!Number.isFinite(nodeGraceSeconds) || nodeGraceSeconds <= 0) throw new Error(`--node-grace-seconds must be a positive number, got "${values['node-grace-seconds']}"`);
  const staleAfterMs = Number(values['stale-heartbeat-seconds']) * 1000;
  if (!(staleAfterMs > 0)) throw new Error(`--stale-heartbeat-seconds must be a positive number, got "${values['stale-heartbeat-seconds']}"`);
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const identity = values.identity!;
  // One informer per kind for the whole process: the CSI service and each term's controllers share them.
  const informers = new SharedInformers(clients.rest);
  const newControllers = (): Controllers => new Controllers([
    new ClaimBinder({ clients, identity, workers, informers }),
    new VolumePlacer({ clients, identity, workers, informers, nodeGraceMs: nodeGraceSeconds * 1000, staleAfterMs }),
  ]);
  const stop = new AbortController();
  let done: Promise<void> = Promise.resolve();
  let controllersStopped: Promise<void> = Promise.resolve();
  let csi: RunningCsiEndpoint | undefined;
  let running = false;
  const csiEndpoint = values['csi-endpoint']!;
  const csiService = csiEndpoint ? createControllerService({ clients, informers, staleAfterMs }) : undefined;
  const probe = csiEndpoint ? new IdentityProbe(csiEndpoint) : undefined;
  const health = new HealthServer()
    .live('csi', () => probe?.answers())
    .ready('api', () => (running ? undefined : 'waiting for the API server'))
    .ready('csi', () => {
      if (!csiService) return undefined;
      if (!csi) return 'the CSI socket is not served yet';
      return csiService.ready() ? undefined : 'the CSI controller has not loaded LocalVolumes, LocalVolumeReplicas and LocalStorageNodes yet';
    });
  // Handlers first, so a signal during start-up also ends cleanly.
  const shutdown = async (signal: string): Promise<void> => {
    log.info('shutting down', { signal });
    stop.abort();
    await done;
    await controllersStopped;
    await csi?.stop();
    probe?.close();
    await health.close();
    process.exit(0);
  };
  // `on`, not `once`: execa re-sends a signal that arrives while a child runs, and a second
  // delivery must not find the default handler (which would end the process mid-shutdown).
  let shuttingDown = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { if (!shuttingDown) { shuttingDown = true; void shutdown(sig); } });

  if (values['health-listen']) await health.listen(values['health-listen']);
  if (csiService) {
    csi = await serveCsiEndpoint({ endpoint: csiEndpoint, controller: csiService });
    log.info('serving the CSI controller service', { endpoint: csiEndpoint });
  }

  if (leaderElect) {
    await ensureNamespace(clients, values['lease-namespace']!, stop.signal);
    if (stop.signal.aborted) return;
    const elector = new LeaderElector(clients, {
      namespace: values['lease-namespace']!,
      name: values['lease-name']!,
      identity,
      // A Controller cannot be restarted: every term of leadership gets its own controllers.
      onStartedLeading: async (signal) => {
        const controllers = newControllers();
        signal.addEventListener('abort', () => { controllersStopped = controllers.stop({ abort: true }); }, { once: true });
        if (!signal.aborted) await controllers.start(signal);
      },
      onStoppedLeading: () => log.info('stopped leading; the claim binder and the volume placer are stopped'),
    });
    done = elector.run(stop.signal);
  } else {
    const controllers = newControllers();
    controllersStopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => void controllers.stop().then(resolve), { once: true }));
    await controllers.start(stop.signal);
  }
  running = true;
  log.info('loam-controller running', { identity, leaderElect, leaseNamespace: leaderElect ? values['lease-namespace'] : undefined });
}

main().catch((err: unknown) => {
  const e = err as Error;
  log.error('loam-controller failed', { error: e.message, cause: (e.cause as Error | undefined)?.message });
  process.exit(1);
});
