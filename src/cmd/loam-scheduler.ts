#!/usr/bin/env node
/**
 * loam-scheduler: the kube-scheduler extender (and the pod webhook) of Loam. Wiring only.
 *
 *   loam-scheduler [--kubeconfig K] [--listen 127.0.0.1:8099] [--policy binpack|spread]
 *                  [--webhook-listen 0.0.0.0:9443 --tls-cert F --tls-key F [--tls-reload-seconds 10] | --no-webhook]
 *                  [--webhook-self-signed --webhook-service loam-scheduler.NAMESPACE.svc
 *                   [--webhook-configuration-name loam-scheduler] [--webhook-cert-validity-hours 168]]
 *                  [--reservation-ttl-seconds 60] [--max-reservations 10000]
 *                  [--stale-heartbeat-seconds 90] [--health-listen 0.0.0.0:9810] [--log-level info] [--help]
 * Every flag has an environment equivalent: LOAM_KUBECONFIG, LOAM_LISTEN, LOAM_POLICY, ...
 *
 * --webhook-self-signed: instead of certificate files, the webhook makes its own CA and serving
 * certificate (for --webhook-service) in memory, writes the CA into the caBundle of every webhook of
 * the MutatingWebhookConfiguration --webhook-configuration-name, and renews the certificate at 2/3
 * of its lifetime. One replica only (docs/scheduler.md). --health-listen: GET /healthz (the extender
 * listens) and /readyz (caches synced; the webhook served and its caBundle written) on HOST:PORT.
 *
 * The extender listens on loopback by default: it has no authentication, and its only client is
 * the kube-scheduler in the same pod. Another address is a deliberate choice (docs/scheduler.md).
 */
import { parseArgs } from 'node:util';
import { HealthServer } from '../common/health-server.js';
import { parseHostPort } from '../common/host-port.js';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { usageOf } from '../common/usage.js';
import { createKubeClients, loadKubeConfig } from '../kube/index.js';
import { InformerView } from '../scheduler-plugin/cache-view.js';
import { Extender } from '../scheduler-plugin/extender.js';
import { defaultStaleAfterMs } from '../localstorage/node-liveness.js';
import { defaultMaxReservations, Reservations } from '../scheduler-plugin/reservations.js';
import type { ScorePolicy } from '../scheduler-plugin/score.js';
import { PodWebhook } from '../scheduler-plugin/webhook.js';
import { SelfSignedCertificate } from '../scheduler-plugin/self-signed-certificate.js';
import { CaBundlePublisher } from '../scheduler-plugin/webhook-ca-bundle.js';

const env = (name: string): string | undefined => process.env[`LOAM_${name.toUpperCase().replace(/-/g, '_')}`];
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env('kubeconfig') },
    listen: { type: 'string', default: env('listen') ?? '127.0.0.1:8099' },
    policy: { type: 'string', default: env('policy') ?? 'binpack' },
    'webhook-listen': { type: 'string', default: env('webhook-listen') ?? '0.0.0.0:9443' },
    'tls-cert': { type: 'string', default: env('tls-cert') },
    'tls-key': { type: 'string', default: env('tls-key') },
    'no-webhook': { type: 'boolean', default: env('no-webhook') === 'true' },
    'tls-reload-seconds': { type: 'string', default: env('tls-reload-seconds') ?? '10' },
    // The webhook's certificate made in memory, its CA written into the webhook configuration (no cert-manager).
    'webhook-self-signed': { type: 'boolean', default: env('webhook-self-signed') === 'true' },
    'webhook-configuration-name': { type: 'string', default: env('webhook-configuration-name') ?? 'loam-scheduler' },
    // The DNS name the API server dials: <service>.<namespace>.svc.
    'webhook-service': { type: 'string', default: env('webhook-service') ?? '' },
    'webhook-cert-validity-hours': { type: 'string', default: env('webhook-cert-validity-hours') ?? '168' },
    // HOST:PORT of /healthz and /readyz; empty: not served.
    'health-listen': { type: 'string', default: env('health-listen') ?? '' },
    help: { type: 'boolean', short: 'h', default: false },
    'reservation-ttl-seconds': { type: 'string', default: env('reservation-ttl-seconds') ?? '60' },
    'max-reservations': { type: 'string', default: env('max-reservations') ?? String(defaultMaxReservations) },
    'stale-heartbeat-seconds': { type: 'string', default: env('stale-heartbeat-seconds') ?? String(defaultStaleAfterMs / 1000) },
    'log-level': { type: 'string', default: env('log-level') ?? 'info' },
  },
});
if (values.help) {
  process.stdout.write(usageOf(import.meta.url));
  process.exit(0);
}
setLogLevel(values['log-level']!);
const log = componentLogger('loam-scheduler');

function positive(flag: string, integer = false): number {
  const value = Number(values[flag as keyof typeof values]);
  if (!(value > 0) || (integer && !Number.isInteger(value))) throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${values[flag as keyof typeof values]}"`);
  return value;
}

async function main(): Promise<void> {
  const policy = values.policy as ScorePolicy;
  if (policy !== 'binpack' && policy !== 'spread') throw new Error(`--policy must be binpack or spread, got "${values.policy}"`);
  const ttl = positive('reservation-ttl-seconds');
  const maxReservations = positive('max-reservations', true);
  const staleAfterMs = positive('stale-heartbeat-seconds') * 1000;
  const tlsReloadMs = positive('tls-reload-seconds') * 1000;
  const validityMs = positive('webhook-cert-validity-hours') * 3_600_000;
  const selfSigned = !values['no-webhook'] && values['webhook-self-signed']!;
  if (selfSigned && (values['tls-cert'] || values['tls-key'])) throw new Error('--webhook-self-signed makes its own certificate: leave out --tls-cert and --tls-key');
  if (selfSigned && !values['webhook-service']) throw new Error('--webhook-self-signed needs --webhook-service: the DNS name the API server calls the webhook by, <service>.<namespace>.svc (e.g. loam-scheduler.loam-system.svc)');
  if (!values['no-webhook'] && !selfSigned && (!values['tls-cert'] || !values['tls-key'])) {
    throw new Error('the pod webhook needs --tls-cert and --tls-key (or turn it off with --no-webhook); or let it make its own certificate with --webhook-self-signed --webhook-service <service>.<namespace>.svc');
  }
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const view = new InformerView(clients.rest, { staleAfterMs });
  const extender = new Extender({ view, policy, reservations: new Reservations(ttl * 1000, Date.now, maxReservations) });
  const publisher = selfSigned ? new CaBundlePublisher({ clients, configurationName: values['webhook-configuration-name']! }) : undefined;
  const webhook = values['no-webhook']
    ? undefined
    : new PodWebhook(view, publisher
      ? new SelfSignedCertificate({ serviceName: values['webhook-service']!, validityMs, publisher })
      : { certFile: values['tls-cert']!, keyFile: values['tls-key']!, reloadIntervalMs: tlsReloadMs });
  const health = new HealthServer()
    .live('extender', () => (extender.listening ? undefined : 'the extender is not listening'))
    .ready('caches', () => (view.hasSynced() ? undefined : 'the informer caches have not synced yet'))
    .ready('webhook', () => (!webhook || webhook.listening ? undefined : 'the pod webhook is not listening'))
    .ready('webhook-ca-bundle', () => publisher?.status());
  // Handlers first, so a signal during start-up (the caches may take a while) also ends cleanly.
  const shutdown = async (signal: string): Promise<void> => {
    log.info('shutting down', { signal });
    await Promise.all([extender.close(), webhook?.close(), publisher?.stop(), view.stop(), health.close()]);
    process.exit(0);
  };
  // `on`, not `once`: a second delivery (execa re-raises signals) must not find the default handler.
  let shuttingDown = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { if (!shuttingDown) { shuttingDown = true; void shutdown(sig); } });
  if (values['health-listen']) await health.listen(values['health-listen']);
  view.start();
  const listen = parseHostPort(values.listen!, 'listen');
  await extender.listen(listen.port, listen.host);
  if (webhook) {
    const whook = parseHostPort(values['webhook-listen']!, 'webhook-listen');
    await webhook.listen(whook.port, whook.host);
    publisher?.start();
  }
  await view.waitForSync(120_000);
  log.info('caches synced; serving');
}

main().catch((err: unknown) => {
  log.error('loam-scheduler failed to start', { error: (err as Error).message });
  process.exit(1);
});
