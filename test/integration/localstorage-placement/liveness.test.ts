/**
 * Placement on a real API server: a node whose agent stopped reporting (a stale LocalStorageNode
 * heartbeat) gets no new volumes; the message and the NotPlaced event say which node and why; the
 * volume is placed there once the agent reports again.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../../tools/testenv/wait.js';
import { coreResources, resourcePath } from '../../../src/kube/index.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { clients, eventsAbout, startController, stopController, suffix } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';
import { cleanup, createStorageNode, createVolume, Gi, placerFixture, reportPools, waitForVolume, type PoolInput } from './support.js';

describe('volume placer: nodes whose agent stopped reporting take no new volumes', function () {
  this.timeout(60_000);
  const f = placerFixture();
  const { run, volumes } = f;
  const fiveMinutesAgo = (): Date => new Date(Date.now() - 5 * 60_000);
  const staleReason = /Loam's node agent last reported 5m\d+s ago \(a node is stale after 1m30s without a heartbeat\); no new volumes go to this node until it reports again/;

  const ssd = (gi: number): PoolInput[] => [{ mediaClass: 'SSD', freeBytes: gi * Gi, totalBytes: gi * Gi }];
  const node = (name: string, freeGi: number, heartbeat?: Date): Promise<string> => f.node(`${name}-${run}`, ssd(freeGi), heartbeat);
  const volume = async (name: string, gi: number, accessibility?: { requiredNodes?: string[]; preferredNodes?: string[] }): Promise<string> => {
    const full = `pvc-${name}-${run}`;
    volumes.push(full);
    await createVolume(f.c, full, { poolClass: 'SSD', capacityBytes: gi * Gi, replicaCount: 1, ...(accessibility ? { accessibility } : {}) });
    return full;
  };
  const placedOn = async (name: string): Promise<string[]> => (await waitForVolume(f.c, name, 'placed', (v) => (v.spec.replicaNodes?.length ?? 0) > 0)).spec.replicaNodes!;

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
    const pending = await waitForVolume(f.c, v, 'Pending with a message', (x) => x.status?.state === 'Pending' && (x.status.message ?? '') !== '');
    const message = pending.status!.message!;
    assert.ok(message.startsWith(`no SSD pool has room for 50Gi: the largest has 10Gi free (${live}); not considered: ${silent}: `), message);
    assert.match(message, staleReason);
    await waitFor('a NotPlaced warning with the same message', async () => (await eventsAbout(f.c, 'LocalVolume', v)).some((e) => e.type === 'Warning' && e.reason === 'NotPlaced' && e.note === message), 10_000);
    await reportPools(f.c, silent, ssd(100));
    assert.deepEqual(await placedOn(v), [silent]);
  });

  it('names the required node that is silent', async () => {
    const silent = await node('silent-req', 100, fiveMinutesAgo());
    await node('live-req', 100);
    const v = await volume('req', 5, { requiredNodes: [silent] });
    const pending = await waitForVolume(f.c, v, 'Pending with a message', (x) => x.status?.state === 'Pending' && (x.status.message ?? '') !== '');
    assert.ok(pending.status!.message!.startsWith(`none of the required nodes (${silent}) can take a new SSD volume now: ${silent}: `), pending.status!.message);
    assert.match(pending.status!.message!, staleReason);
  });
});

describe('loam-controller --stale-heartbeat-seconds (a real process)', function () {
  this.timeout(60_000);

  it('a longer threshold lets a node that last reported 10 minutes ago take new volumes', async () => {
    const c = clients();
    const run = suffix();
    const node = `slow-agent-${run}`;
    const volume = `pvc-slow-${run}`;
    const controller = startController(['--leader-elect', 'false', '--stale-heartbeat-seconds', '3600']);
    try {
      await createReadyNode(controlPlane().kubeConfig(), node);
      await createStorageNode(c, node, [{ mediaClass: 'SSD', freeBytes: 10 * Gi, totalBytes: 10 * Gi }], { heartbeat: new Date(Date.now() - 10 * 60_000) });
      await createVolume(c, volume, { poolClass: 'SSD', capacityBytes: Gi, replicaCount: 1 });
      await waitForVolume(c, volume, 'placed on the node', (v) => v.spec.replicaNodes?.[0] === node);
    } finally {
      await stopController(controller);
      await cleanup(c, [volume], [node]);
      await c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, node)).catch(() => undefined);
    }
  });
});
