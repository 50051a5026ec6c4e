/**
 * Placement on a real API server: a node whose agent stopped reporting (a stale LocalStorageNode
 * heartbeat) gets no new volumes; the message and the NotPlaced event say which node and why; the
 * volume is placed there once the agent reports again.
 */
import assert from 'node:assert/strict';
import { coreResources, resourcePath } from '../../../src/kube/index.js';
import { VolumePlacer } from '../../../src/localstorage/volume-placer.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { clients, eventsAbout, suffix } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';
import { cleanup, createStorageNode, createVolume, Gi, reportPools, waitForVolume, type PoolInput } from './support.js';

describe('volume placer: nodes whose agent stopped reporting take no new volumes', function () {
  this.timeout(60_000);
  const run = suffix();
  let c: ReturnType<typeof clients>;
  let placer: VolumePlacer;
  const volumes: string[] = [];
  const storageNodes: string[] = [];
  const nodes: string[] = [];
  const fiveMinutesAgo = (): Date => new Date(Date.now() - 5 * 60_000);
  const staleReason = /Loam's node agent last reported 5m\d+s ago \(a node is stale after 1m30s without a heartbeat\); no new volumes go to this node until it reports again/;

  const node = async (name: string, freeGi: number, heartbeat?: Date): Promise<string> => {
    const full = `${name}-${run}`;
    nodes.push(full);
    storageNodes.push(full);
    await createReadyNode(controlPlane().kubeConfig(), full);
    await createStorageNode(c, full, ssd(freeGi), { heartbeat });
    return full;
  };
  const ssd = (gi: number): PoolInput[] => [{ mediaClass: 'SSD', freeBytes: gi * Gi, totalBytes: gi * Gi }];
  const volume = async (name: string, gi: number, accessibility?: { requiredNodes?: string[]; preferredNodes?: string[] }): Promise<string> => {
    const full = `pvc-${name}-${run}`;
    volumes.push(full);
    await createVolume(c, full, { poolClass: 'SSD', capacityBytes: gi * Gi, replicaCount: 1, ...(accessibility ? { accessibility } : {}) });
    return full;
  };
  const placedOn = async (name: string): Promise<string[]> => (await waitForVolume(c, name, 'placed', (v) => (v.spec.replicaNodes?.length ?? 0) > 0)).spec.replicaNodes!;

  before(async () => {
    c = clients();
    placer = new VolumePlacer({ clients: c, identity: `test-${run}` });
    await placer.start();
  });

  afterEach(async () => {
    await cleanup(c, volumes, storageNodes);
    for (const n of nodes.splice(0)) await c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, n)).catch(() => undefined);
  });

  after(async () => {
    await placer.stop();
  });

  it('passes over a silent node even when the scheduler preferred it and it has the most room', async () => {
    const silent = await node('silent-pref', 100, fiveMinutesAgo());
    const live = await node('live-pref', 10);
    const v = await volume('pref', 5, { preferredNodes: [silent] });
    assert.deepEqual(await placedOn(v), [live]);
  });

  it('keeps a volume that only a silent node could take Pending, says why, and places it once the agent reports again', async () => {
    const silent = await node('silent-big', 100, fiveMinutesAgo());
    const live = await node('live-big', 10);
    const v = await volume('big', 50);
    const pending = await waitForVolume(c, v, 'Pending with a message', (x) => x.status?.state === 'Pending' && (x.status.message ?? '') !== '');
    const message = pending.status!.message!;
    assert.ok(message.startsWith(`no SSD pool has room for 50Gi: the largest has 10Gi free (${live}); not considered: ${silent}: `), message);
    assert.match(message, staleReason);
    await waitFor('a NotPlaced warning with the same message', async () => (await eventsAbout(c, 'LocalVolume', v)).some((e) => e.type === 'Warning' && e.reason === 'NotPlaced' && e.note === message), 10_000);
    await reportPools(c, silent, ssd(100));
    assert.deepEqual(await placedOn(v), [silent]);
  });

  it('names the required node that is silent', async () => {
    const silent = await node('silent-req', 100, fiveMinutesAgo());
    await node('live-req', 100);
    const v = await volume('req', 5, { requiredNodes: [silent] });
    const pending = await waitForVolume(c, v, 'Pending with a message', (x) => x.status?.state === 'Pending' && (x.status.message ?? '') !== '');
    assert.ok(pending.status!.message!.startsWith(`none of the required nodes (${silent}) can take a new SSD volume now: ${silent}: `), pending.status!.message);
    assert.match(pending.status!.message!, staleReason);
  });
});
