import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { createKubeClients } from '../../../src/kube/index.js';
import { InformerView } from '../../../src/scheduler-plugin/cache-view.js';
import { PodWebhook } from '../../../src/scheduler-plugin/webhook.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';
import { SchedulerFixture } from './cluster.js';

const webhookName = 'pods.loam.io';
const ssd = 'loam-webhook-ssd';

describe('pod webhook: sets schedulerName on pods that use Loam volumes', function () {
  this.timeout(60_000);
  let view: InformerView;
  let webhook: PodWebhook;
  let fx: SchedulerFixture;
  let admission: k8s.AdmissionregistrationV1Api;

  before(async () => {
    const cp = controlPlane();
    view = new InformerView(createKubeClients(cp.kubeConfig()).rest);
    view.start();
    await view.waitForSync(30_000);
    const tls = await cp.issueServingCertificate('loam-webhook', ['IP:127.0.0.1']);
    webhook = new PodWebhook(view, tls);
    const { port } = await webhook.listen(0, '127.0.0.1');
    fx = new SchedulerFixture(cp.kubeConfig());
    admission = cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
    // The configuration the chart installs, pointed at this test's server by URL instead of a Service.
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        webhooks: [{
          name: webhookName,
          clientConfig: { url: `https://127.0.0.1:${port}/mutate-pods`, caBundle: (await cp.caCert()).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchExpressions: [{ key: 'loam.io/webhook', operator: 'NotIn', values: ['ignore'] }] },
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 5,
        }],
      },
    });
    await fx.storage.createStorageClass({ body: { metadata: { name: ssd }, provisioner: 'lvm.loam.io', volumeBindingMode: 'WaitForFirstConsumer', parameters: { poolClass: 'SSD' } } });
  });

  after(async () => {
    await admission?.deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
    await fx?.storage.deleteStorageClass({ name: ssd }).catch(() => undefined);
    await fx?.cleanup();
    await webhook?.close();
    await view?.stop();
  });

  async function schedulerOf(ns: string, pod: string): Promise<string | undefined> {
    return (await fx.core.readNamespacedPod({ namespace: ns, name: pod })).spec?.schedulerName;
  }

  it('sends a pod with a Loam claim to loam-scheduler and leaves other pods alone', async () => {
    const ns = await fx.namespace('webhook-apps');
    await fx.claim(ns, 'data', ssd, '1Gi');
    await waitFor('the claim in the webhook cache', () => view.claim(ns, 'data') !== undefined, 10_000);
    await fx.pod(ns, 'db', ['data']);
    await fx.pod(ns, 'web', []);
    assert.equal(await schedulerOf(ns, 'db'), 'loam-scheduler');
    assert.equal(await schedulerOf(ns, 'web'), 'default-scheduler');
  });

  it('keeps a scheduler the pod names itself', async () => {
    const ns = await fx.namespace('webhook-custom');
    await fx.claim(ns, 'data', ssd, '1Gi');
    await waitFor('the claim in the webhook cache', () => view.claim(ns, 'data') !== undefined, 10_000);
    await fx.pod(ns, 'db', ['data'], 'my-scheduler');
    assert.equal(await schedulerOf(ns, 'db'), 'my-scheduler');
  });

  it('skips namespaces labelled loam.io/webhook=ignore', async () => {
    const ns = await fx.namespace('webhook-ignored', { 'loam.io/webhook': 'ignore' });
    await fx.claim(ns, 'data', ssd, '1Gi');
    await waitFor('the claim in the webhook cache', () => view.claim(ns, 'data') !== undefined, 10_000);
    await fx.pod(ns, 'db', ['data']);
    assert.equal(await schedulerOf(ns, 'db'), 'default-scheduler');
  });
});
