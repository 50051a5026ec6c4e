/**
 * loam-scheduler makes the webhook's certificate itself (--webhook-self-signed, no cert-manager):
 * against the real API server, it waits (not ready, still running) while the
 * MutatingWebhookConfiguration is missing, writes its CA into the caBundle of every webhook once
 * the configuration exists, writes it again after something (a forced upgrade) removed it, and serves
 * /mutate-pods with a certificate that a client trusting exactly that bundle accepts for the
 * Service's name, and for no other name.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { freePort } from '../../../tools/testenv/ports.js';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';

const service = 'loam-scheduler.loam-system.svc';

/** POSTs an AdmissionReview to the webhook on 127.0.0.1 as the API server would, verifying `servername` against `ca`. */
function admissionCall(port: number, ca: string, servername: string): Promise<{ status: number; body: { response?: { uid?: string; allowed?: boolean } } }> {
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', namespace: 'default', object: { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } } } });
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/mutate-pods', method: 'POST', ca, servername, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(review);
  });
}

describe('loam-scheduler: the webhook certificate without cert-manager', function () {
  this.timeout(150_000);

  it('publishes its CA into every webhook of the configuration (also after it was removed) and serves a certificate valid for the Service name', async () => {
    const cp = controlPlane();
    const admission = cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
    const name = `loam-scheduler-cert-${Date.now().toString(36)}`;
    const [extenderPort, webhookPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    const child = execa('node', ['--import', 'tsx', 'src/cmd/loam-scheduler.ts', '--kubeconfig', cp.kubeconfigPath, '--listen', `127.0.0.1:${extenderPort}`,
      '--webhook-listen', `127.0.0.1:${webhookPort}`, '--webhook-self-signed', '--webhook-service', service, '--webhook-configuration-name', name,
      '--webhook-cert-validity-hours', '24', '--health-listen', `127.0.0.1:${healthPort}`], { reject: false, all: true });
    let log = '';
    child.all?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-50_000); });
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${healthPort}${path}`).catch(() => undefined);
      return res ? [res.status, await res.text()] : [0, ''];
    };
    const bundles = async (): Promise<Array<string | undefined>> => (await admission.readMutatingWebhookConfiguration({ name })).webhooks!.map((w) => w.clientConfig.caBundle);
    try {
      // No configuration yet: alive, not ready, and saying why.
      await waitFor('/readyz to name the missing configuration', async () => {
        if (child.exitCode !== null) throw new StopWaiting(`loam-scheduler exited ${child.exitCode}: ${log.slice(-3000)}`);
        return (await get('/readyz'))[1].startsWith('webhook-ca-bundle:');
      }, 60_000, 200);
      assert.deepEqual(await get('/healthz'), [200, 'ok']);
      assert.deepEqual(await get('/readyz'), [503, `webhook-ca-bundle: MutatingWebhookConfiguration ${name} not found: install it (the chart does, with scheduler.webhook.enabled), or start loam-scheduler with --no-webhook`]);
      assert.match(log, /"level":"error","message":"the webhook CA bundle is not published/);

      // The chart's configuration, without a caBundle; selectors that match nothing, so the API server never calls it here.
      const never = { matchLabels: { 'loam.io/webhook-cert-test': 'never' } };
      const webhook = (webhookName: string): k8s.V1MutatingWebhook => ({
        name: webhookName,
        clientConfig: { service: { name: 'loam-scheduler', namespace: 'loam-system', path: '/mutate-pods', port: 443 } },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        objectSelector: never,
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      });
      await admission.createMutatingWebhookConfiguration({ body: { metadata: { name }, webhooks: [webhook('pods.loam.io'), webhook('pods2.loam.io')] } });
      await waitFor('the caBundle in both webhooks', async () => (await bundles()).every((b) => !!b), 30_000, 250);
      const [first, second] = await bundles();
      assert.equal(first, second, 'the same bundle in every webhook');
      await waitFor('/readyz 200', async () => (await get('/readyz'))[0] === 200, 20_000, 200);
      const ca = Buffer.from(first!, 'base64').toString();
      assert.match(ca, /^-----BEGIN CERTIFICATE-----/);

      const answer = await admissionCall(webhookPort, ca, service);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.response, { uid: 'u-1', allowed: true }, 'a pod without Loam volumes is allowed unchanged');
      await assert.rejects(admissionCall(webhookPort, ca, 'other.loam-system.svc'), /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/, 'valid for the Service name only');

      // A forced upgrade or a replace drops the caBundle: it is written back.
      await admission.patchMutatingWebhookConfiguration({ name, body: [{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }] }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch));
      assert.equal((await bundles())[0], undefined);
      await waitFor('the caBundle written back', async () => (await bundles())[0] === first, 30_000, 250);
    } finally {
      await admission.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
      if (child.exitCode === null) child.kill('SIGTERM');
      const result = await child;
      assert.equal(result.exitCode, 0, `loam-scheduler exit code after SIGTERM: ${log.slice(-2000)}`);
    }
  });
});
