#!/usr/bin/env node
/**
 * loam-scheduler: the kube-scheduler extender (and the pod webhook) of Loam. Wiring only.
 *
 *   loam-scheduler [--kubeconfig K] [--listen 127.0.0.1:8099] [--policy binpack|spread]
 *                  [--webhook-listen 0.0.0.0:9443 --tls-cert F --tls-key F [--tls-reload-seconds 10] | --no-webhook]
 *                  [--reservation-ttl-seconds 60] [--max-reservations 10000]
 *                  [--stale-heartbeat-seconds 90] [--log-level info]
 * Every flag has an environment equivalent: LOAM_KUBECONFIG, LOAM_LISTEN, LOAM_POLICY, ...
 *
 * The extender listens on loopback by default: it has no authentication, and its only client is
 * the kube-scheduler in the same pod. Another address is a deliberate choice (docs/scheduler.md).
 */
import { parseArgs } from 'node:util';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { createKubeClients, loadKubeConfig } from '../kube/index.js';
import { InformerView } from '../scheduler-plugin/cache-view.js';
import { Extender } from '../scheduler-plugin/extender.js';
import { defaultStaleAfterMs } from '../localstorage/node-liveness.js';
import { defaultMaxReservations, Reservations } from '../scheduler-plugin/reservations.js';
import type { ScorePolicy } from '../scheduler-plugin/score.js';
import { PodWebhook } from '../scheduler-plugin/webhook.js';

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
    'reservation-ttl-seconds': { type: 'string', default: env('reservation-ttl-seconds') ?? '60' },
    'max-reservations': { type: 'string', default: env('max-reservations') ?? String(defaultMaxReservations) },
    'stale-heartbeat-seconds': { type: 'string', default: env('stale-heartbeat-seconds') ?? String(defaultStaleAfterMs / 1000) },
    'log-level': { type: 'string', default: env('log-level') ?? 'info' },
  },
});
setLogLevel(values['log-level']!);
const log = componentLogger('loam-scheduler');

/** `host:port`; an empty host (`:8099`) is loopback, never every interface by accident. */
function hostPort(value: string, flag: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(value);
  if (!m) throw new Error(`--${flag} must be host:port, got "${value}"`);
  return [m[1] || '127.0.0.1', Number(m[2])];
}

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
  if (!values['no-webhook'] && (!values['tls-cert'] || !values['tls-key'])) {
    throw new Error('the pod webhook needs --tls-cert and --tls-key (or turn it off with --no-webhook)');
  }
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const view = new InformerView(clients.rest, { staleAfterMs });
  view.start();
  const extender = new Extender({ view, policy, reservations: new Reservations(ttl * 1000, Date.now, maxReservations) });
  const [host, port] = hostPort(values.listen!, 'listen');
  await extender.listen(port, host);
  let webhook: PodWebhook | undefined;
  if (!values['no-webhook']) {
    webhook = new PodWebhook(view, { certFile: values['tls-cert']!, keyFile: values['tls-key']!, reloadIntervalMs: tlsReloadMs });
    const [whost, wport] = hostPort(values['webhook-listen']!, 'webhook-listen');
    await webhook.listen(wport, whost);
  }
  await view.waitForSync(120_000);
  log.info('caches synced; serving');
  const shutdown = async (signal: string): Promise<void> => {
    log.info('shutting down', { signal });
    await Promise.all([extender.close(), webhook?.close(), view.stop()]);
    process.exit(0);
  };
  // `on`, not `once`: a second delivery (execa re-raises signals) must not find the default handler.
  let shuttingDown = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { if (!shuttingDown) { shuttingDown = true; void shutdown(sig); } });
}

main().catch((err: unknown) => {
  log.error('loam-scheduler failed to start', { error: (err as Error).message });
  process.exit(1);
});
