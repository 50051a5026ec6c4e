/**
 * The chart's RBAC, proven on the real binaries: a control plane of its own with an audit log of
 * Loam's ServiceAccounts; the chart's ServiceAccounts, roles, CSIDriver, StorageClass, webhook
 * configuration and controller Deployment applied; loam-node (real loop device, host LVM),
 * loam-controller with csi-provisioner and csi-resizer, loam-scheduler with its kube-scheduler, each
 * with the chart's own arguments and a ServiceAccount token (components.ts). The flows of the other
 * integration tests run through them (flows.ts): a disk claim and its pool, a PVC provisioned, grown
 * and deleted, a volume on the real node, a deleted Node's clean-up, leader election, the webhook's
 * caBundle. Then, from
 * the audit log: no request of a Loam ServiceAccount was refused, and every verb of every rule of
 * Loam's roles was used (docs/rbac.md).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { createKubeClients } from '../../../src/kube/index.js';
import { ensureTestenvBin } from '../../../tools/testenv/bin.js';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { registerDriverOnNode } from '../../sanity/sidecars.js';
import { attachNew, loopDiskName, setRotational, uniqueNodeName, waitUntil } from '../ldm-node/support.js';
import { assertNoLoamVgs, removeLoamLvm } from '../localstorage-pools/support.js';
import { LoopDevices } from '../udev/support/loop.js';
import { auditPolicyFor, readAudit } from './audit.js';
import { startComponents } from './components.js';
import { Flows } from './flows.js';
import { describeGrant, grantsOf, judge, serviceAccountUser } from './rbac-rules.js';
import { Child, renderChart, serviceAccountKubeconfig } from './support.js';

const ns = 'loam-system';
const MiB = 2 ** 20;
const rbacTemplates = ['serviceaccounts.yaml', 'rbac-node.yaml', 'rbac-controller.yaml', 'rbac-scheduler.yaml'];

describe('chart RBAC as rendered', function () {
  this.timeout(60_000);
  const render = async (values: string[]): Promise<Array<{ kind: string; metadata: { name: string }; rules?: Array<Record<string, string[]>>; roleRef?: { name: string } }>> =>
    YAML.parseAllDocuments(await renderChart(await ensureTestenvBin(), ns, rbacTemplates.filter((t) => !(values.includes('scheduler.mode=none') && t === 'rbac-scheduler.yaml')), values)).map((d) => d.toJS()).filter((o) => o !== null);
  const names = (objects: Awaited<ReturnType<typeof render>>): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  it('has no wildcard and no Secret in any mode, and scheduler RBAC only where a scheduler part runs', async () => {
    const modes = { scheduler: await render([]), extender: await render(['scheduler.mode=extender']), none: await render(['scheduler.mode=none']), noWebhook: await render(['scheduler.webhook.enabled=false']) };
    for (const [mode, objects] of Object.entries(modes)) {
      for (const rule of objects.flatMap((o) => o.rules ?? [])) {
        for (const key of ['apiGroups', 'resources', 'verbs', 'resourceNames']) assert.ok(!(rule[key] ?? []).includes('*'), `mode ${mode}: a wildcard in ${JSON.stringify(rule)}`);
        assert.ok(!(rule.resources ?? []).includes('secrets'), `mode ${mode}: Secrets in ${JSON.stringify(rule)}`);
      }
    }
    assert.ok(!names(modes.none).some((n) => n.includes('loam-scheduler')), `mode none renders ${names(modes.none).join(', ')}`);
    assert.deepEqual(names(modes.extender).filter((n) => n.includes('loam-scheduler')), ['ClusterRole/loam-scheduler', 'ClusterRoleBinding/loam-scheduler', 'ServiceAccount/loam-scheduler']);
    const webhookRule = (objects: Awaited<ReturnType<typeof render>>): boolean => objects.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'loam-scheduler' && (o.rules ?? []).some((r) => (r.resources ?? []).includes('mutatingwebhookconfigurations')));
    assert.equal(webhookRule(modes.scheduler), true);
    assert.equal(webhookRule(modes.extender), false);
    assert.equal(webhookRule(modes.noWebhook), false);
    assert.deepEqual(modes.scheduler.filter((o) => o.kind.endsWith('Binding') && o.roleRef?.name.startsWith('system:') || o.roleRef?.name === 'extension-apiserver-authentication-reader').map((o) => o.roleRef!.name).sort(),
      ['extension-apiserver-authentication-reader', 'system:kube-scheduler', 'system:volume-scheduler']);
  });
});

describe('chart RBAC: every request of the real binaries allowed, every rule used (audit log)', function () {
  this.timeout(360_000);
  let cp: ControlPlane;
  let core: k8s.CoreV1Api;
  let rbac = '';
  let dir = '';
  const loops = new LoopDevices();
  const children: Child[] = [];
  const real = uniqueNodeName('rbac-a');
  const paper = uniqueNodeName('rbac-b');
  let device = '';
  let guarded = false;
  const logs = (): string => children.map((ch) => ch.tail(2500)).join('\n');

  before(async function () {
    await assertNoLoamVgs();
    guarded = true;
    cp = await ControlPlane.start({ auditPolicy: auditPolicyFor(ns) });
    core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    dir = await mkdtemp(path.join(tmpdir(), 'loam-rbac-'));
    await core.createNamespace({ body: { metadata: { name: ns } } });
    rbac = await renderChart(cp.binDir, ns, rbacTemplates);
    const chart = await renderChart(cp.binDir, ns, ['csidriver.yaml', 'storageclasses.yaml', 'scheduler-webhook.yaml', 'controller-deployment.yaml']);
    for (const manifests of [rbac, chart]) {
      const applied = await cp.kubectl(['apply', '-f', '-'], manifests);
      assert.equal(applied.exitCode, 0, applied.stderr);
    }
    // The controller Deployment's pods (never started: no kubelet) own the CSIStorageCapacity objects.
    await cp.startControllerManager();
  });

  after(async function () {
    for (const ch of children) await ch.stop();
    await cp?.stop();
    if (guarded) await removeLoamLvm(device ? [device] : []);
    await loops.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the flows under the chart\'s ServiceAccounts with no refusal and no unused rule', async function () {
    const started = Date.now();
    // A flow that fails (a refusal usually makes one wait forever) does not hide the audit's verdict.
    let flowError: Error | undefined;
    try {
      const kc = cp.kubeConfig();
      for (const node of [real, paper]) {
        await createReadyNode(kc, node, { 'topology.loam.io/node': node });
        await registerDriverOnNode(cp, node);
      }
      const file = await loops.sparseFile(64 * MiB, 'rbac-ssd.img');
      device = await attachNew(loops, file);
      await setRotational(device, false);
      const controllerPod = await waitUntil('a pod of the loam-controller Deployment', async () =>
        (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=controller' })).items[0]?.metadata?.name ?? false, 60_000);
      const kubeconfig = {
        node: await serviceAccountKubeconfig(cp, ns, 'loam-node'),
        controller: await serviceAccountKubeconfig(cp, ns, 'loam-controller'),
        scheduler: await serviceAccountKubeconfig(cp, ns, 'loam-scheduler'),
      };
      const { nodeSocket, kubeletDir } = await startComponents({ cp, namespace: ns, dir, nodeName: real, controllerPod, kubeconfig }, children);

      const flows = new Flows({ c: createKubeClients(kc), core, kc, real, realDisk: loopDiskName(real, file), paper, dir, nodeSocket, kubeletDir, logs });
      await flows.webhookCertificate();
      await flows.paperNode();
      await flows.claimAndPool();
      await flows.claimDeletedWithoutFinalizer();
      const { volume, replica } = await flows.provisionAndGrow();
      await flows.noRoomHandBack();
      await flows.volumeOnRealNode();
      await flows.deleteClaimOnGoneNode(volume, replica);
      await flows.deleteRealClaim();
    } catch (err) {
      flowError = err as Error;
    }
    // Stopped before the verdict: leaving leadership (the Leases' release) is a call too.
    for (const ch of children) await ch.stop();
    const flowsSeconds = (Date.now() - started) / 1000;

    const users = ['loam-node', 'loam-controller', 'loam-scheduler'].map((sa) => serviceAccountUser(ns, sa));
    const requests = await readAudit(cp.auditLogPath);
    const grants = grantsOf(rbac);
    const verdict = judge(grants, requests, users);
    const forbidden = children.filter((ch) => /forbidden/i.test(ch.output)).map((ch) => `${ch.name}: ${ch.output.split('\n').find((l) => /forbidden/i.test(l))}`);
    console.log(`      flows ${flowsSeconds.toFixed(1)} s; ${requests.filter((r) => users.includes(r.user)).length} audited requests of Loam's ServiceAccounts; ${new Set(grants.map(describeGrant)).size} grants (role, rule, verb, resource), ${verdict.unused.length} unused, ${verdict.refused.length} refused`);
    if (process.env.LOAM_RBAC_REPORT) {
      for (const [grant, agents] of verdict.usedBy) console.log(`      ${grant}: ${[...agents].map((a) => a || 'no user agent').join(', ')}`);
    }
    const flow = flowError ? `\n(and a flow failed: ${flowError.message.split('\n')[0]})` : '';
    assert.deepEqual(verdict.refused, [], `refused requests:\n${verdict.refused.join('\n')}${flow}`);
    assert.deepEqual(forbidden, [], `a binary logged a forbidden request${flow}`);
    if (flowError) throw flowError;
    assert.deepEqual(verdict.unused, [], `unused rules:\n${verdict.unused.join('\n')}`);
  });
});
