#!/usr/bin/env node
/**
 * loam-controller: the cluster-wide controllers of Loam (today the LocalDiskClaim binder). Wiring only.
 *
 *   loam-controller [--kubeconfig K] [--leader-elect true|false] [--lease-namespace loam-system]
 *                   [--lease-name loam-controller] [--identity ID] [--workers 2] [--log-level info]
 * Every flag has an environment equivalent: LOAM_KUBECONFIG, LOAM_LEADER_ELECT, LOAM_LEASE_NAMESPACE, ...
 * Logs are JSON on stderr. SIGTERM/SIGINT stop the work, release the Lease and exit 0.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { coreResources, createKubeClients, isAlreadyExists, isNotFound, LeaderElector, loadKubeConfig, resourcePath, type KubeClients } from '../kube/index.js';
import { ClaimBinder } from '../ldm/claim-binder.js';

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
  },
});
setLogLevel(values['log-level']!);
const log = componentLogger('loam-controller');

function flagBoolean(value: string, flag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`--${flag} must be true or false, got "${value}"`);
}

/** The Lease lives in a namespace; make it if it is missing, or say plainly what to do. */
async function ensureNamespace(clients: KubeClients, name: string): Promise<void> {
  try {
    await clients.rest.request('GET', resourcePath(coreResources.namespaces, undefined, name));
    return;
  } catch (err) {
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

async function main(): Promise<void> {
  const leaderElect = flagBoolean(values['leader-elect']!, 'leader-elect');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got "${values.workers}"`);
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const identity = values.identity!;
  const newBinder = (): ClaimBinder => new ClaimBinder({ clients, identity, workers });
  const stop = new AbortController();
  let done: Promise<void> = Promise.resolve();
  let binderStopped: Promise<void> = Promise.resolve();
  // Handlers first, so a signal during start-up also ends cleanly.
  const shutdown = async (signal: string): Promise<void> => {
    log.info('shutting down', { signal });
    stop.abort();
    await done;
    await binderStopped;
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  if (leaderElect) {
    await ensureNamespace(clients, values['lease-namespace']!);
    const elector = new LeaderElector(clients, {
      namespace: values['lease-namespace']!,
      name: values['lease-name']!,
      identity,
      // A Controller cannot be restarted: every term of leadership gets its own binder.
      onStartedLeading: async (signal) => {
        const binder = newBinder();
        signal.addEventListener('abort', () => { binderStopped = binder.stop({ abort: true }); }, { once: true });
        if (!signal.aborted) await binder.start(signal);
      },
      onStoppedLeading: () => log.info('stopped leading; the claim binder is stopped'),
    });
    done = elector.run(stop.signal);
  } else {
    const binder = newBinder();
    binderStopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => void binder.stop().then(resolve), { once: true }));
    await binder.start(stop.signal);
  }
  log.info('loam-controller running', { identity, leaderElect, leaseNamespace: leaderElect ? values['lease-namespace'] : undefined });
}

main().catch((err: unknown) => {
  const e = err as Error;
  log.error('loam-controller failed', { error: e.message, cause: (e.cause as Error | undefined)?.message });
  process.exit(1);
});
