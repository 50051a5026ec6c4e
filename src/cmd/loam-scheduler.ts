#!/usr/bin/env node
/**
 * loam-scheduler: the kube-scheduler extender (and the pod webhook) of Loam. Wiring only.
 *
 *   loam-scheduler [--kubeconfig K] [--listen 0.0.0.0:8099] [--policy binpack|spread]
 *                  [--webhook-listen 0.0.0.0:9443 --tls-cert F --tls-key F | --no-webhook]
 *                  [--reservation-ttl-seconds 60] [--log-level info]
 * Every flag has an environment equivalent: LOAM_KUBECONFIG, LOAM_LISTEN, LOAM_POLICY, ...
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { componentLogger, setLogLevel } from '../common/logger.js';
import { createKubeClients, loadKubeConfig } from '../kube/index.js';
import { InformerView } from '../scheduler-plugin/cache-view.js';
import { Extender } from '../scheduler-plugin/extender.js';
import { Reservations } from '../scheduler-plugin/reservations.js';
import type { ScorePolicy } from '../scheduler-plugin/score.js';
import { PodWebhook } from '../scheduler-plugin/webhook.js';

const env = (name: string): string | undefined => process.env[`LOAM_${name.toUpperCase().replace(/-/g, '_')}`];
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env('kubeconfig') },
    listen: { type: 'string', default: env('listen') ?? '0.0.0.0:8099' },
    policy: { type: 'string', default: env('policy') ?? 'binpack' },
    'webhook-listen': { type: 'string', default: env('webhook-listen') ?? '0.0.0.0:9443' },
    'tls-cert': { type: 'string', default: env('tls-cert') },
    'tls-key': { type: 'string', default: env('tls-key') },
    'no-webhook': { type: 'boolean', default: env('no-webhook') === 'true' },
    'reservation-ttl-seconds': { type: 'string', default: env('reservation-ttl-seconds') ?? '60' },
    'log-level': { type: 'string', default: env('log-level') ?? 'info' },
  },
});
setLogLevel(values['log-level']!);
const log = componentLogger('loam-scheduler');

function hostPort(value: string, flag: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(value);
  if (!m) throw new Error(`--${flag} must be host:port, got "${value}"`);
  return [m[1] || '0.0.0.0', Number(m[2])];
}

async function main(): Promise<void> {
  const policy = values.policy as ScorePolicy;
  if (policy !== 'binpack' && policy !== 'spread') throw new Error(`--policy must be binpack or spread, got "${values.policy}"`);
  const ttl = Number(values['reservation-ttl-seconds']);
  if (!(ttl > 0)) throw new Error(`--reservation-ttl-seconds must be a positive number, got "${values['reservation-ttl-seconds']}"`);
  if (!values['no-webhook'] && (!values['tls-cert'] || !values['tls-key'])) {
    throw new Error('the pod webhook needs --tls-cert and --tls-key (or turn it off with --no-webhook)');
  }
  const clients = createKubeClients(loadKubeConfig({ kubeconfigPath: values.kubeconfig }));
  const view = new InformerView(clients.rest);
  view.start();
  const extender = new Extender({ view, policy, reservations: new Reservations(ttl * 1000) });
  const [host, port] = hostPort(values.listen!, 'listen');
  await extender.listen(port, host);
  let webhook: PodWebhook | undefined;
  if (!values['no-webhook']) {
    webhook = new PodWebhook(view, { cert: readFileSync(values['tls-cert']!), key: readFileSync(values['tls-key']!) });
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
