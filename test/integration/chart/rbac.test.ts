/**
 * The chart's RBAC, proven on the real binaries: a control plane of its own with an audit log of
 * Loam's ServiceAccounts; the chart's ServiceAccounts, roles, CSIDriver, StorageClass, webhook
 * configuration and controller Deployment applied; loam-node (real loop device, host LVM),
 * loam-controller with csi-provisioner and csi-resizer, loam-scheduler with its kube-scheduler, each
 * with the chart's own arguments and a ServiceAccount token. The flows of the other integration
 * tests run through them: a disk claim and its pool, a PVC provisioned, grown and deleted, a volume
 * on the real node, a deleted Node's clean-up, leader election, the webhook's caBundle. Then, from
 * the audit log: no request of a Loam ServiceAccount was refused, and every verb of every rule of
 * Loam's roles was used (docs/rbac.md).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { apiVersion, finalizer, labels, loamResources, nodeLabelValue, type LocalDisk } from '../../../src/api/index.js';
import { createKubeClients, mergePatch as mergePatchObject, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { ensureTestenvBin } from '../../../tools/testenv/bin.js';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { registerDriverOnNode } from '../../sanity/sidecars.js';
import { CsiTestClient } from '../csi-controller/support.js';
import { createClaim, createDisk, deleteClaim, waitForClaim } from '../ldm-claims/support.js';
import { attachNew, loopDiskName, setRotational, uniqueNodeName, waitForState, waitUntil } from '../ldm-node/support.js';
import { agentReady, createStorageNode, createVolume, getVolume, replicasOf } from '../localstorage-placement/support.js';
import { assertNoLoamVgs, getStorageNode, removeLoamLvm } from '../localstorage-pools/support.js';
import { LoopDevices } from '../udev/support/loop.js';
import { loamTag, replicaUidTag } from '../../../src/localstorage/lvm.js';
import { auditPolicyFor, readAudit } from './audit.js';
import { addLvToMetadata } from './lvm-metadata.js';
import { describeGrant, grantsOf, judge, serviceAccountUser } from './rbac-rules.js';
import { Child, configMapValue, containerArgs, onHost, renderChart, serviceAccountKubeconfig, repeatedEvent } from './support.js';

const ns = 'loam-system';
const Gi = 2 ** 30;
const MiB = 2 ** 20;
const rbacTemplates = ['serviceaccounts.yaml', 'rbac-node.yaml', 'rbac-controller.yaml', 'rbac-scheduler.yaml'];
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

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
  this.timeout(240_000);
  let cp: ControlPlane;
  let c: KubeClients;
  let core: k8s.CoreV1Api;
  let rbac = '';
  let dir = '';
  const loops = new LoopDevices();
  const children: Child[] = [];
  const real = uniqueNodeName('rbac-a');
  const paper = uniqueNodeName('rbac-b');
  let disk = '';
  let device = '';
  let guarded = false;
  const logs = (): string => children.map((ch) => ch.tail(2500)).join('\n');

  before(async function () {
    await assertNoLoamVgs();
    guarded = true;
    cp = await ControlPlane.start({ auditPolicy: auditPolicyFor(ns) });
    c = createKubeClients(cp.kubeConfig());
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
      const kubeconfig = {
        node: await serviceAccountKubeconfig(cp, ns, 'loam-node'),
        controller: await serviceAccountKubeconfig(cp, ns, 'loam-controller'),
        scheduler: await serviceAccountKubeconfig(cp, ns, 'loam-scheduler'),
      };
      const controllerPod = await waitUntil('a pod of the loam-controller Deployment', async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=controller' });
        return pods.items[0]?.metadata?.name ?? false;
      }, 60_000);
      const podEnv = { NAMESPACE: ns, POD_NAME: controllerPod };
      // The sidecars' informers list, then watch, as client-go does against API servers that do not
      // stream lists (the chart supports Kubernetes 1.30 on): the rules must allow both.
      const sidecarEnv = { ...podEnv, KUBE_FEATURE_WatchListClient: 'false' };
      const kc = cp.kubeConfig();
      for (const node of [real, paper]) {
        await createReadyNode(kc, node, { 'topology.loam.io/node': node });
        await registerDriverOnNode(cp, node);
      }
      const file = await loops.sparseFile(64 * MiB, 'rbac-ssd.img');
      device = await attachNew(loops, file);
      await setRotational(device, false);
      disk = loopDiskName(real, file);

      // The chart's own arguments, with host sockets and ports.
      const workloads = await renderChart(cp.binDir, ns, ['node-daemonset.yaml', 'controller-deployment.yaml', 'scheduler-deployment.yaml', 'scheduler-configmap.yaml']);
      const controllerSocket = path.join(dir, 'controller.sock');
      const nodeSocket = path.join(dir, 'node.sock');
      const [extenderPort, webhookPort, schedulerPort] = [await freePort(), await freePort(), await freePort()];
      const sidecar = (name: string): Child => new Child(name, path.join(cp.binDir, name),
        onHost(containerArgs(workloads, 'loam-controller', name), podEnv, { 'csi-address': controllerSocket }, [`--kubeconfig=${kubeconfig.controller}`]), sidecarEnv);
      children.push(
        Child.loam('loam-node', onHost(containerArgs(workloads, 'loam-node', 'loam-node'), { NODE_NAME: real }, {
          'kubelet-dir': path.join(dir, 'kubelet'), 'csi-endpoint': `unix://${nodeSocket}`, 'registration-dir': null, 'health-listen': null, 'resync-seconds': '5',
        }, ['--include-loop', '--heartbeat-seconds=2', `--kubeconfig=${kubeconfig.node}`])),
        Child.loam('loam-controller', onHost(containerArgs(workloads, 'loam-controller', 'loam-controller'), podEnv, {
          'csi-endpoint': `unix://${controllerSocket}`, 'health-listen': null, 'node-grace-seconds': '2',
        }, [`--kubeconfig=${kubeconfig.controller}`])),
        Child.loam('loam-scheduler', onHost(containerArgs(workloads, 'loam-scheduler', 'loam-scheduler'), {}, {
          listen: `127.0.0.1:${extenderPort}`, 'health-listen': null, 'webhook-listen': `127.0.0.1:${webhookPort}`,
        }, [`--kubeconfig=${kubeconfig.scheduler}`])),
      );
      await waitFor('the CSI Controller socket', async () => (await new CsiTestClient(controllerSocket).call<{ ready?: { value: boolean } }>('Identity', 'Probe', {}, 2000).catch(() => undefined))?.ready?.value === true, 60_000, 200);
      children.push(sidecar('csi-provisioner'), sidecar('csi-resizer'));
      const schedulerConfig = YAML.parse(configMapValue(workloads, 'loam-scheduler-config', 'config.yaml').replace('127.0.0.1:8099', `127.0.0.1:${extenderPort}`)) as Record<string, unknown>;
      schedulerConfig.clientConnection = { kubeconfig: kubeconfig.scheduler };
      const configFile = path.join(dir, 'kube-scheduler.yaml');
      await writeFile(configFile, YAML.stringify(schedulerConfig));
      children.push(new Child('kube-scheduler', path.join(cp.binDir, 'kube-scheduler'), [
        ...onHost(containerArgs(workloads, 'loam-scheduler', 'kube-scheduler'), {}, { config: configFile }),
        `--authentication-kubeconfig=${kubeconfig.scheduler}`, `--authorization-kubeconfig=${kubeconfig.scheduler}`,
        '--bind-address=127.0.0.1', `--secure-port=${schedulerPort}`,
      ]));

      // The webhook's certificate: loam-scheduler puts its CA into the configuration.
      const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
      await waitFor('caBundle of MutatingWebhookConfiguration loam-scheduler', async () =>
        ((await admission.readMutatingWebhookConfiguration({ name: 'loam-scheduler' })).webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== ''), 60_000, 200).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${logs()}`);
      });

      // The paper node: its agent is played by the test; a stray finalizer on its summaries.
      await createStorageNode(c, paper, [{ mediaClass: 'SSD', freeBytes: 20 * Gi }]);
      await mergePatchObject(c, loamResources.localStorageNodes, { name: paper }, { metadata: { finalizers: [finalizer] } });
      await c.rest.request('POST', resourcePath(loamResources.localDiskNodes), { body: { apiVersion, kind: 'LocalDiskNode', metadata: { name: paper, finalizers: [finalizer], labels: { [labels.node]: nodeLabelValue(paper) } }, spec: { nodeName: paper } } });
      await createDisk(c, { name: `${paper}-disk`, node: paper, path: '/dev/sdz', gi: 20, mediaClass: 'SSD', state: 'InUse' });

      // A disk claim on the real node: bound by loam-controller, pooled by loam-node (pvcreate, vgcreate).
      await waitForState(c, disk, 'Available', 60_000);
      await createClaim(c, `${real}-ssd`, real, { mediaClass: 'SSD', count: 1 });
      await waitForClaim(c, `${real}-ssd`, 'Bound', (claim) => claim.status?.phase === 'Bound');
      await waitFor(`the SSD pool of ${real}`, async () => (await getStorageNode(c, real))?.status?.pools?.some((p) => p.mediaClass === 'SSD') === true, 60_000, 200)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });

      // A claim deleted without its finalizer while its disk is only Claimed: the binder finds the
      // claim gone on the server and releases the disk. Again until the release is a repeat of the
      // disk's Event (its series bumped); a new leadership term starts a new series, hence the retries.
      const spare = `${paper}-spare`;
      await createDisk(c, { name: spare, node: paper, path: '/dev/sdy', gi: 5, mediaClass: 'HDD' });
      for (let attempt = 1; ; attempt++) {
        await createClaim(c, spare, paper, { mediaClass: 'HDD', count: 1 });
        await waitForClaim(c, spare, 'Bound', (claim) => claim.status?.phase === 'Bound');
        await mergePatchObject(c, loamResources.localDiskClaims, { name: spare }, { metadata: { finalizers: null } });
        await c.rest.request('DELETE', resourcePath(loamResources.localDiskClaims, undefined, spare));
        await waitFor(`${spare} released (${attempt})`, async () => (await c.rest.request<LocalDisk>('GET', resourcePath(loamResources.localDisks, undefined, spare))).spec.claimRef === undefined, 30_000, 200);
        if (attempt >= 2 && await repeatedEvent(c, 'LocalDisk', spare, 'DiskReleased', attempt < 4 ? 3_000 : 30_000)) break;
        if (attempt >= 4) throw new Error(`four releases of ${spare} made no repeated DiskReleased Event\n${logs()}`);
      }

      // A PVC on the paper node: loam-scheduler's kube-scheduler places the pod, csi-provisioner
      // creates the volume, the placer its replica (made Ready by the test as the node agent).
      await core.createNamespace({ body: { metadata: { name: 'apps' } } });
      const claim = (name: string, size: string, annotations?: Record<string, string>): Promise<unknown> => core.createNamespacedPersistentVolumeClaim({ namespace: 'apps', body: { metadata: { name, annotations }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'loam-ssd', resources: { requests: { storage: size } } } } });
      await claim('data', '1Gi');
      await core.createNamespacedPod({ namespace: 'apps', body: { metadata: { name: 'app' }, spec: { schedulerName: 'loam-scheduler', nodeSelector: { 'kubernetes.io/hostname': paper }, containers: [{ name: 'app', image: 'registry.invalid/none' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } } });
      const volume = await waitUntil('the uid of apps/data', async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' });
        return pvc.metadata?.uid ? `pvc-${pvc.metadata.uid}` : false;
      }, 5_000);
      const replica = await waitUntil(`the replica of ${volume} on ${paper}`, async () => (await replicasOf(c, volume))[0]?.metadata.name ?? false, 60_000)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });
      await agentReady(c, replica, Gi);
      await waitFor('apps/data Bound', async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' })).status?.phase === 'Bound', 60_000, 200)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });

      // Online expansion through csi-resizer.
      await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data', body: { spec: { resources: { requests: { storage: '2Gi' } } } } }, mergePatch);
      await waitFor(`${replica} asked for 2Gi`, async () => (await replicasOf(c, volume))[0]?.spec.capacityBytes === 2 * Gi, 60_000, 200);
      await agentReady(c, replica, 2 * Gi);
      await waitFor(`the PV of ${volume} at 2Gi`, async () => (await core.readPersistentVolume({ name: volume }).catch(() => undefined))?.spec?.capacity?.storage === '2Gi', 60_000, 200)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });

      // No room on the node a scheduler chose (the test plays it, twice): CreateVolume answers
      // RESOURCE_EXHAUSTED, csi-provisioner hands the claim back (the selected node removed) and
      // reports it (the second time as a repeat of the same Event).
      const selected = 'volume.kubernetes.io/selected-node';
      await claim('big', '100Gi');
      for (let attempt = 1; attempt <= 2; attempt++) {
        await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big', body: { metadata: { annotations: { [selected]: paper } } } }, mergePatch);
        await waitFor(`apps/big handed back (attempt ${attempt})`, async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big' })).metadata?.annotations?.[selected] === undefined, 60_000, 200)
          .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });
      }
      await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big' });

      // A volume on the real node: loam-node reconciles its replica (lvcreate fails on this host's
      // kernel: a Failed status, retried: one Event with a count); the CSI Node service looks up a volume it does not hold; the LV
      // (written into the VG's metadata by the test) is removed with the volume, after loam-node has
      // read the volume again.
      const local = `pvc-00000000-0000-4000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
      await createVolume(c, local, { poolClass: 'SSD', capacityBytes: 8 * MiB, replicaCount: 1, accessibility: { requiredNodes: [real] } });
      const localReplica = await waitUntil(`loam-node's status of the replica of ${local}`, async () => {
        const r = (await replicasOf(c, local))[0];
        return r?.status?.state !== undefined ? r : false;
      }, 60_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });
      if (!await repeatedEvent(c, 'LocalVolumeReplica', localReplica.metadata.name!, undefined, 60_000)) throw new Error(`no repeated Event about ${localReplica.metadata.name}\n${logs()}`);
      const nodeClient = new CsiTestClient(nodeSocket);
      await assert.rejects(nodeClient.call('Node', 'NodeGetVolumeStats', { volume_id: 'pvc-11111111-1111-4111-8111-111111111111', volume_path: path.join(dir, 'kubelet', 'pods', 'x') }), /no replica/);
      nodeClient.close();
      await addLvToMetadata(dir, localReplica.spec.poolName, local, 2, [loamTag, replicaUidTag(localReplica.metadata.uid!)]);
      await c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, local));
      await waitFor(`${local} gone`, async () => (await getVolume(c, local)) === undefined, 60_000, 200)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });

      // The PVC deleted: csi-provisioner's DeleteVolume; while the replica waits for its node agent,
      // the paper Node is deleted for good: loam-controller lets the replica go and removes the
      // node's Loam objects; the volume and the PV go.
      await core.deleteNamespacedPod({ namespace: 'apps', name: 'app', gracePeriodSeconds: 0 });
      await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' });
      await waitFor(`${replica} deleting`, async () => (await replicasOf(c, volume))[0]?.metadata.deletionTimestamp !== undefined, 60_000, 200);
      await core.deleteNode({ name: paper });
      const gone = async (ref: typeof loamResources.localDisks, name: string): Promise<boolean> => c.rest.request('GET', resourcePath(ref, undefined, name)).then(() => false, () => true);
      await waitFor(`the Loam objects of ${paper} and the PV of ${volume} gone`, async () =>
        await gone(loamResources.localStorageNodes, paper) && await gone(loamResources.localDiskNodes, paper) && await gone(loamResources.localDisks, `${paper}-disk`)
        && await gone(loamResources.localVolumeReplicas, replica) && (await core.readPersistentVolume({ name: volume }).catch(() => undefined)) === undefined, 60_000, 200)
        .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`); });

      // The claim deleted (its disk stays bound: it is in use), then every process stops (Leases released).
      await deleteClaim(c, `${real}-ssd`);
      await waitFor('the claim gone', async () => c.rest.request('GET', resourcePath(loamResources.localDiskClaims, undefined, `${real}-ssd`)).then(() => false, () => true), 30_000, 200);
    } catch (err) {
      flowError = err as Error;
    }
    for (const ch of children) await ch.stop();
    const flowsSeconds = (Date.now() - started) / 1000;

    const users = ['loam-node', 'loam-controller', 'loam-scheduler'].map((sa) => serviceAccountUser(ns, sa));
    const requests = await readAudit(cp.auditLogPath);
    const grants = grantsOf(rbac);
    const verdict = judge(grants, requests, users);
    const forbidden = children.filter((ch) => /forbidden/i.test(ch.output)).map((ch) => `${ch.name}: ${ch.output.split('\n').find((l) => /forbidden/i.test(l))}`);
    console.log(`      flows ${flowsSeconds.toFixed(1)} s; ${requests.filter((r) => users.includes(r.user)).length} audited requests of Loam's ServiceAccounts; ${new Set(grants.map(describeGrant)).size} grants (role, rule, verb, resource), ${verdict.unused.length} unused, ${verdict.refused.length} refused`);
    if (process.env.LOAM_RBAC_REPORT) {
      for (const [grant, agents] of verdict.usedBy) console.log(`      ${grant}: ${[...agents].join(', ')}`);
    }
    const flow = flowError ? `\n(and a flow failed: ${flowError.message.split('\n')[0]})` : '';
    assert.deepEqual(verdict.refused, [], `refused requests:\n${verdict.refused.join('\n')}${flow}`);
    assert.deepEqual(forbidden, [], `a binary logged a forbidden request${flow}`);
    if (flowError) throw flowError;
    assert.deepEqual(verdict.unused, [], `unused rules:\n${verdict.unused.join('\n')}`);
  });
});
