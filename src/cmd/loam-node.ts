#!/usr/bin/env -S node --lite-mode --max-semi-space-size=1
/**
 * loam-node: the node agent of Loam (Local Disk Manager discovery; Local Storage pools and
 * replicas). Wiring only.
 *
 *   loam-node --node-name N [--kubeconfig K] [--include-loop] [--resync-seconds 60]
 *             [--smart-interval-seconds 3600] [--heartbeat-seconds 30] [--local-storage true|false]
 *             [--csi-endpoint unix:///csi/csi.sock] [--kubelet-dir /var/lib/kubelet]
 *             [--registration-dir /var/lib/kubelet/plugins_registry [--kubelet-registration-path PATH]]
 *             [--health-listen 0.0.0.0:9808] [--log-level info] [--help]
 * Every flag has an environment equivalent: LOAM_NODE_NAME, LOAM_KUBECONFIG, LOAM_INCLUDE_LOOP, ...
 *
 * --registration-dir: serve the kubelet's plugin registration there (lvm.loam.io-reg.sock), naming
 * --kubelet-registration-path (default: the path of --csi-endpoint) as the CSI socket the kubelet
 * dials. --health-listen: GET /healthz (the CSI socket answers Probe) and /readyz (the agents have
 * started, so the API server answered and their caches are filled; the CSI socket is served; the
 * kubelet has registered the driver when --registration-dir is set) on HOST:PORT (docs/csi.md, "Health").
 *
 * The CSI socket is served first, before the API server has answered: after a restart during an
 * API outage, kubelet must still be able to unpublish and unstage (they need only the mount table),
 * so pods can end. The agents start once the API server answers.
 *
 * The V8 flags in the first line keep a long-running agent small (docs/ldm.md, "Memory"): lite mode
 * (no optimising compiler, feedback allocated lazily) and a 1 MiB young generation.
 */
import { parseArgs } from 'node:util';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { loamResources } from '../api/index.js';
import { createKubeClients, isTransient, loadKubeConfig, resourcePath, SharedInformers, statusCodeOf, withRetry, type KubeClients } from '../kube/index.js';
import { DiskNodeAgent } from '../ldm/node-agent.js';
import { LocalStorageAgent } from '../localstorage/node-agent.js';
import { serveCsiEndpoint, type RunningCsiEndpoint } from '../csi/endpoint.js';
import { createNodeService } from '../csi/node-service.js';
import { defaultKubeletDir } from '../csi/node-paths.js';
import { IdentityProbe } from '../csi/identity-probe.js';
import { KubeletRegistration } from '../csi/registration.js';
import { HealthServer } from '../common/health-server.js';
import { usageOf } from '../common/usage.js';

const env = (name: string): string | undefined => process.env[`LOAM_${name.toUpperCase().replace(/-/g, '_')}`];
const log = componentLogger('loam-node');

function seconds(values: Record<string, string | boolean | undefined>, flag: string, allowZero = false): number {
  const raw = String(values[flag]);
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, got "${raw}"`);
  return n * 1000;
}

function bool(values: Record<string, string | boolean | undefined>, flag: string): boolean {
  const raw = String(values[flag]);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Error(`--${flag} must be true or false, got "${raw}"`);
}

/**
 * Waits, however long it takes, until the API server answers: the agents give up on a first list
 * that does not come within their own bound, and loam-node must not exit while its CSI socket is
 * what lets pods end.
 */
async function untilApiServerAnswers(clients: KubeClients, stopping: () => boolean): Promise<void> {
  let logged = false;
  // Any answer but a transient one (429, 5xx) will do: the agents' own lists then go through.
  const ask = async (): Promise<void> => {
    try {
      await clients.rest.request('GET', resourcePath(loamResources.localVolumeReplicas), { query: { limit: '1' } });
    } catch (err) {
      if (statusCodeOf(err) === undefined || isTransient(err)) throw err;
    }
  };
  await withRetry(ask, {
    attempts: Infinity,
    backoff: { baseMs: 500, maxMs: 10_000, jitter: 0.2 },
    retryable: (err) => {
      if (stopping()) return false;
      if (!logged) log.warn('the API server does not answer yet; the CSI socket is served meanwhile, the agents start once it answers', { error: (err as Error).message });
      logged = true;
      return true;
    },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'node-name': { type: 'string', default: env('node-name') },
      kubeconfig: { type: 'string', default: env('kubeconfig') },
      'include-loop': { type: 'boolean', default: env('include-loop') === 'true' },
      'resync-seconds': { type: 'string', default: env('resync-seconds') ?? '60' },
      'smart-interval-seconds': { type: 'string', default: env('smart-interval-seconds') ?? '3600' },
      'heartbeat-seconds': { type: 'string', default: env('heartbeat-seconds') ?? '30' },
      'local-storage': { type: 'string', default: env('local-storage') ?? 'true' },
      // Unix socket of the CSI Node service; empty: not served.
      'csi-endpoint': { type: 'string', default: env('csi-endpoint') ?? '' },
      // Staging and target paths of CSI calls must lie inside it.
      'kubelet-dir': { type: 'string', default: env('kubelet-dir') ?? defaultKubeletDir },
      // The kubelet's plugins_registry folder; empty: no registration with the kubelet.
      'registration-dir': { type: 'string', default: env('registration-dir') ?? '' },
      // The CSI socket's path as the kubelet sees it (default: the path of --csi-endpoint).
      'kubelet-registration-path': { type: 'string', default: env('kubelet-registration-path') ?? '' },
      // HOST:PORT of /healthz and /readyz; empty: not served.
      'health-listen': { type: 'string', default: env('health-listen') ?? '' },
      'log-level': { type: 'string', default: env('log-level') ?? 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usageOf(import.meta.url));
    return;
  }
  setLogLevel(values['log-level']!);
  const nodeName = values['node-name'];
  if (!nodeName) throw new Error('--node-name (or LOAM_NODE_NAME) is required: the name of the Kubernetes Node this agent runs on');
  if (!values['kubelet-dir']!.startsWith('/')) throw new Error(`--kubelet-dir must be an absolute path, got "${values['kubelet-dir']}"`);
  const csiEndpoint = values['csi-endpoint']!;
  const registrationDir = values['registration-dir']!;
  if (registrationDir && !csiEndpoint) throw new Error('--registration-dir needs --csi-endpoint: the kubelet is registered to use the CSI socket loam-node serves');
  const registration = registrationDir
    ? new KubeletRegistration({ registrationDir, csiEndpoint: values['kubelet-registration-path'] || csiEndpoint, recheckMs: 5_000 })
    : undefined;
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const heartbeatMs = seconds(values, 'heartbeat-seconds');
  // One informer per kind and selector for the whole process: the agents and the CSI service share them.
  const informers = new SharedInformers(clients.rest);
  const agent = new DiskNodeAgent({
    clients,
    informers,
    nodeName,
    includeLoop: values['include-loop']!,
    resyncMs: seconds(values, 'resync-seconds'),
    smartIntervalMs: seconds(values, 'smart-interval-seconds', true),
    heartbeatMs,
  });
  const localStorage = bool(values, 'local-storage') ? new LocalStorageAgent({ clients, informers, nodeName, heartbeatMs, resyncMs: seconds(values, 'resync-seconds') }) : undefined;
  let stopping = false;
  let csi: RunningCsiEndpoint | undefined;
  let agentsStarted = false;
  const probe = csiEndpoint ? new IdentityProbe(csiEndpoint) : undefined;
  const health = new HealthServer()
    .live('csi', () => probe?.answers())
    .ready('agents', () => (agentsStarted ? undefined : 'the agents have not started: waiting for the API server and for their caches to fill'))
    .ready('csi', () => (!csiEndpoint || csi ? undefined : 'the CSI socket is not served yet'))
    .ready('kubelet-registration', () => {
      const state = registration?.status();
      return !state || state.registered ? undefined : state.error;
    });
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    probe?.close();
    // Registration first: the kubelet deregisters the driver before its socket goes away.
    Promise.all([registration?.stop().then(() => csi?.stop()), localStorage?.stop(), agent.stop(), health.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('unclean shutdown', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: while an execa child runs, execa's exit hook (signal-exit) re-raises a signal
  // that has no other listener, which would kill the process mid-shutdown. `stopping` guards re-entry.
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (values['health-listen']) await health.listen(values['health-listen']);
  if (csiEndpoint) {
    csi = await serveCsiEndpoint({ endpoint: csiEndpoint, node: createNodeService({ nodeName, clients, informers, lvm: localStorage?.lvm, kubeletDir: values['kubelet-dir'] }) });
    log.info('serving the CSI node service', { endpoint: csiEndpoint, kubeletDir: values['kubelet-dir'] });
  }
  // After the CSI socket: the kubelet dials it as soon as it has read GetInfo.
  if (registration) {
    await registration.start();
    log.info('serving the kubelet plugin registration', { socket: registration.socketPath, csiEndpoint: values['kubelet-registration-path'] || csiEndpoint });
  }
  await untilApiServerAnswers(clients, () => stopping).catch((err: unknown) => {
    if (!stopping) throw err;
  });
  if (stopping) return;
  await agent.start();
  await localStorage?.start();
  agentsStarted = true;
  log.info('loam-node running', { node: nodeName, localStorage: localStorage !== undefined });
}

main().catch((err: unknown) => {
  log.error('loam-node failed', { error: (err as Error).message, cause: ((err as Error).cause as Error | undefined)?.message });
  process.exit(1);
});
