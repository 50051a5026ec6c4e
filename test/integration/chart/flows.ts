/**
 * The flows the RBAC test drives through the real binaries, each the way the other integration
 * tests drive it, chosen so that every call the binaries can make is made at least once. The test
 * plays what has no process here: the kubelet's CSI calls, the node agent of a second ("paper")
 * node, and once the scheduler of a claim. Every wait that times out says what the binaries logged.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { apiVersion, finalizer, labels, loamResources, nodeLabelValue, type LocalDisk } from '../../../src/api/index.js';
import { mergePatch, resourcePath, type KubeClients, type ResourceRef } from '../../../src/kube/index.js';
import { loamTag, replicaUidTag } from '../../../src/localstorage/lvm.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { CsiTestClient } from '../csi-controller/support.js';
import { createClaim, createDisk, deleteClaim, waitForClaim } from '../ldm-claims/support.js';
import { waitForState, waitUntil } from '../ldm-node/support.js';
import { agentReady, createStorageNode, createVolume, getVolume, replicasOf } from '../localstorage-placement/support.js';
import { getStorageNode } from '../localstorage-pools/support.js';
import { addLvToMetadata } from './lvm-metadata.js';
import { repeatedEvent } from './support.js';

const Gi = 2 ** 30;
const MiB = 2 ** 20;
const mergePatchHeader = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const selectedNode = 'volume.kubernetes.io/selected-node';

export interface FlowsInput {
  c: KubeClients;
  core: k8s.CoreV1Api;
  kc: k8s.KubeConfig;
  /** The node of the real loam-node, and the LocalDisk name of its loop device. */
  real: string;
  realDisk: string;
  /** A node whose agent the test plays. */
  paper: string;
  /** A folder for the test's files; the CSI Node socket and the kubelet folder of loam-node. */
  dir: string;
  nodeSocket: string;
  kubeletDir: string;
  logs: () => string;
}

export class Flows {
  constructor(private readonly x: FlowsInput) {}

  private async wait(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    await waitFor(what, check, timeoutMs, 200).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${this.x.logs()}`, { cause: err });
    });
  }

  private async gone(ref: ResourceRef, name: string): Promise<boolean> {
    return this.x.c.rest.request('GET', resourcePath(ref, undefined, name)).then(() => false, () => true);
  }

  /** loam-scheduler makes its webhook certificate and puts its CA into the configuration. */
  async webhookCertificate(): Promise<void> {
    const admission = this.x.kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    await this.wait('caBundle of MutatingWebhookConfiguration loam-scheduler', async () =>
      ((await admission.readMutatingWebhookConfiguration({ name: 'loam-scheduler' })).webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== ''));
  }

  /** The paper node's objects, as its agent would write them, with a stray finalizer on its summaries. */
  async paperNode(): Promise<void> {
    const { c, paper } = this.x;
    await createStorageNode(c, paper, [{ mediaClass: 'SSD', freeBytes: 20 * Gi }]);
    await mergePatch(c, loamResources.localStorageNodes, { name: paper }, { metadata: { finalizers: [finalizer] } });
    await c.rest.request('POST', resourcePath(loamResources.localDiskNodes), { body: { apiVersion, kind: 'LocalDiskNode', metadata: { name: paper, finalizers: [finalizer], labels: { [labels.node]: nodeLabelValue(paper) } }, spec: { nodeName: paper } } });
    await createDisk(c, { name: `${paper}-disk`, node: paper, path: '/dev/sdz', gi: 20, mediaClass: 'SSD', state: 'InUse' });
  }

  /** A disk claim on the real node: bound by loam-controller, pooled by loam-node (pvcreate, vgcreate). */
  async claimAndPool(): Promise<void> {
    const { c, real } = this.x;
    await waitForState(c, this.x.realDisk, 'Available', 60_000);
    await createClaim(c, `${real}-ssd`, real, { mediaClass: 'SSD', count: 1 });
    await waitForClaim(c, `${real}-ssd`, 'Bound', (claim) => claim.status?.phase === 'Bound');
    await this.wait(`the SSD pool of ${real}`, async () => (await getStorageNode(c, real))?.status?.pools?.some((p) => p.mediaClass === 'SSD') === true);
  }

  /**
   * A claim deleted without its finalizer while its disk is only Claimed: the binder finds the
   * claim gone on the server and releases the disk. Again until a release is a repeat of the
   * disk's Event (its series bumped); a new leadership term starts a new series, hence the retries.
   */
  async claimDeletedWithoutFinalizer(): Promise<void> {
    const { c, paper } = this.x;
    const spare = `${paper}-spare`;
    await createDisk(c, { name: spare, node: paper, path: '/dev/sdy', gi: 5, mediaClass: 'HDD' });
    for (let attempt = 1; ; attempt++) {
      await createClaim(c, spare, paper, { mediaClass: 'HDD', count: 1 });
      await waitForClaim(c, spare, 'Bound', (claim) => claim.status?.phase === 'Bound');
      await mergePatch(c, loamResources.localDiskClaims, { name: spare }, { metadata: { finalizers: null } });
      await c.rest.request('DELETE', resourcePath(loamResources.localDiskClaims, undefined, spare));
      await this.wait(`${spare} released (${attempt})`, async () => (await c.rest.request<LocalDisk>('GET', resourcePath(loamResources.localDisks, undefined, spare))).spec.claimRef === undefined, 30_000);
      if (attempt >= 2 && await repeatedEvent(c, 'LocalDisk', spare, 'DiskReleased', attempt < 4 ? 3_000 : 30_000)) return;
      if (attempt >= 4) throw new Error(`four releases of ${spare} made no repeated DiskReleased Event\n${this.x.logs()}`);
    }
  }

  private claim(name: string, size: string): Promise<unknown> {
    return this.x.core.createNamespacedPersistentVolumeClaim({ namespace: 'apps', body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'loam-ssd', resources: { requests: { storage: size } } } } });
  }

  /**
   * A PVC on the paper node: loam-scheduler's kube-scheduler places the pod, csi-provisioner
   * creates the volume, the placer its replica (made Ready by the test as the node agent); then
   * online expansion through csi-resizer. Returns the volume and its replica.
   */
  async provisionAndGrow(): Promise<{ volume: string; replica: string }> {
    const { c, core, paper } = this.x;
    await core.createNamespace({ body: { metadata: { name: 'apps' } } });
    await this.claim('data', '1Gi');
    await core.createNamespacedPod({ namespace: 'apps', body: { metadata: { name: 'app' }, spec: { schedulerName: 'loam-scheduler', nodeSelector: { 'kubernetes.io/hostname': paper }, containers: [{ name: 'app', image: 'registry.invalid/none' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } } });
    const uid = (await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' })).metadata!.uid!;
    const volume = `pvc-${uid}`;
    const replica = await waitUntil(`the replica of ${volume} on ${paper}`, async () => (await replicasOf(c, volume))[0]?.metadata.name ?? false, 60_000, this.x.logs);
    await agentReady(c, replica, Gi);
    await this.wait('apps/data Bound', async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' })).status?.phase === 'Bound');

    await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data', body: { spec: { resources: { requests: { storage: '2Gi' } } } } }, mergePatchHeader);
    await this.wait(`${replica} asked for 2Gi`, async () => (await replicasOf(c, volume))[0]?.spec.capacityBytes === 2 * Gi);
    await agentReady(c, replica, 2 * Gi);
    await this.wait(`the PV of ${volume} at 2Gi`, async () => (await core.readPersistentVolume({ name: volume }).catch(() => undefined))?.spec?.capacity?.storage === '2Gi');
    return { volume, replica };
  }

  /**
   * No room on the node a scheduler chose (the test plays it, twice): CreateVolume answers
   * RESOURCE_EXHAUSTED, csi-provisioner hands the claim back (the selected node removed) and
   * reports it (the second time as a repeat of the same Event).
   */
  async noRoomHandBack(): Promise<void> {
    const { core, paper } = this.x;
    await this.claim('big', '100Gi');
    for (let attempt = 1; attempt <= 2; attempt++) {
      await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big', body: { metadata: { annotations: { [selectedNode]: paper } } } }, mergePatchHeader);
      await this.wait(`apps/big handed back (attempt ${attempt})`, async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big' })).metadata?.annotations?.[selectedNode] === undefined);
    }
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'big' });
  }

  /**
   * A volume on the real node: loam-node reconciles its replica (lvcreate fails on this host's
   * kernel: a Failed status, retried: one Event with a count); the CSI Node service looks up a
   * volume it does not hold; the LV (written into the VG's metadata by the test) is removed with
   * the volume, after loam-node has read the volume again.
   */
  async volumeOnRealNode(): Promise<void> {
    const { c, real } = this.x;
    const volume = `pvc-00000000-0000-4000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
    await createVolume(c, volume, { poolClass: 'SSD', capacityBytes: 8 * MiB, replicaCount: 1, accessibility: { requiredNodes: [real] } });
    const replica = await waitUntil(`loam-node's status of the replica of ${volume}`, async () => {
      const r = (await replicasOf(c, volume))[0];
      return r?.status?.state !== undefined ? r : false;
    }, 60_000, this.x.logs);
    if (!await repeatedEvent(c, 'LocalVolumeReplica', replica.metadata.name!, undefined, 60_000)) throw new Error(`no repeated Event about ${replica.metadata.name}\n${this.x.logs()}`);
    const kubelet = new CsiTestClient(this.x.nodeSocket);
    await assert.rejects(kubelet.call('Node', 'NodeGetVolumeStats', { volume_id: 'pvc-11111111-1111-4111-8111-111111111111', volume_path: path.join(this.x.kubeletDir, 'pods', 'x') }), /no replica/);
    kubelet.close();
    await addLvToMetadata(this.x.dir, replica.spec.poolName, volume, 2, [loamTag, replicaUidTag(replica.metadata.uid!)]);
    await c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, volume));
    await this.wait(`${volume} gone`, async () => (await getVolume(c, volume)) === undefined);
  }

  /**
   * The PVC deleted: csi-provisioner's DeleteVolume; while the replica waits for its node agent,
   * the paper Node is deleted for good: loam-controller lets the replica go and removes the node's
   * Loam objects; the volume and the PV go.
   */
  async deleteClaimOnGoneNode(volume: string, replica: string): Promise<void> {
    const { core, paper, c } = this.x;
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'app', gracePeriodSeconds: 0 });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data' });
    await this.wait(`${replica} deleting`, async () => (await replicasOf(c, volume))[0]?.metadata.deletionTimestamp !== undefined);
    await core.deleteNode({ name: paper });
    await this.wait(`the Loam objects of ${paper} and the PV of ${volume} gone`, async () =>
      await this.gone(loamResources.localStorageNodes, paper) && await this.gone(loamResources.localDiskNodes, paper) && await this.gone(loamResources.localDisks, `${paper}-disk`)
      && await this.gone(loamResources.localVolumeReplicas, replica) && (await core.readPersistentVolume({ name: volume }).catch(() => undefined)) === undefined);
  }

  /** The real node's claim deleted: its disk stays bound (it is in use), an Event says why. */
  async deleteRealClaim(): Promise<void> {
    await deleteClaim(this.x.c, `${this.x.real}-ssd`);
    await this.wait('the claim gone', () => this.gone(loamResources.localDiskClaims, `${this.x.real}-ssd`), 30_000);
  }
}
