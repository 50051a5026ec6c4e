/**
 * A permanent refusal from the real API server is logged as what it is: an informer whose service
 * account may not list its resource logs "refused ... RBAC" with the code, never "connection lost".
 */
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { loamResources } from '../../../src/api/index.js';
import { Informer } from '../../../src/kube/informer.js';
import { RestClient } from '../../../src/kube/rest.js';
import { capturingLogger } from '../../unit/kube/log-capture.js';
import { controlPlane } from '../setup.js';
import { createNamespace, deleteNamespace, eventually } from './helpers.js';

/** A KubeConfig for the control plane that authenticates as a new service account with no RBAC at all. */
async function serviceAccountKubeConfig(namespace: string): Promise<k8s.KubeConfig> {
  const admin = controlPlane().kubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'no-rights' } } });
  const request = await core.createNamespacedServiceAccountToken({ namespace, name: 'no-rights', body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'no-rights', token: request.status!.token }],
    contexts: [{ name: 'no-rights', cluster: cluster.name, user: 'no-rights' }],
    currentContext: 'no-rights',
  });
  return kc;
}

describe('kube: refusals of the real API server are logged as refusals', function () {
  this.timeout(60_000);
  let namespace: string;

  before(async () => {
    namespace = await createNamespace('kube-refusal');
  });

  after(async () => {
    await deleteNamespace(namespace);
  });

  it('an informer whose service account may not list LocalDisks logs a 403 refusal naming RBAC, not a lost connection', async () => {
    const { logger, lines } = capturingLogger();
    const informer = new Informer(new RestClient(await serviceAccountKubeConfig(namespace)), { resource: loamResources.localDisks, backoff: { baseMs: 50, maxMs: 200 }, logger });
    try {
      informer.start();
      await eventually('the refusal line', () => lines.some((l) => l.level === 'error'), 10_000);
      const refused = lines.find((l) => l.level === 'error')!;
      assert.match(String(refused.message), /^the API server refused the request: RBAC does not allow it \(check the ClusterRole bound to this component's service account\); not a connection problem/);
      assert.equal(refused.code, 403);
      assert.match(String(refused.reason), /^403 Forbidden: localdisks\.loam\.io is forbidden: User "system:serviceaccount:kube-refusal-[0-9a-f]+:no-rights" cannot list resource "localdisks"/);
      assert.deepEqual(lines.filter((l) => /connection lost/.test(String(l.message))), []);
      assert.equal(informer.hasSynced(), false);
    } finally {
      await informer.stop();
    }
  });
});
