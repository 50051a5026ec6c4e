/**
 * One watch per kind and selector per process: a started loam-node (disk manager, local storage
 * and CSI node service, which all watch the node's LocalDisks or LocalVolumeReplicas) holds exactly
 * one watch of each against the real API server, counted by the server itself
 * (apiserver_longrunning_requests{verb="WATCH"}); loam-controller likewise for its CSI service and controllers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loamResources, nodeLabelSelector, type LocalStorageNode } from '../../../src/api/index.js';
import { resourcePath } from '../../../src/kube/index.js';
import { startController, stopController, type RunningController } from '../ldm-claims/support.js';
import { clients, NodeProcess, uniqueNodeName, waitUntil } from '../ldm-node/support.js';
import { controlPlane } from '../setup.js';

/** Open WATCH requests per resource, as kube-apiserver's own gauge counts them. */
async function openWatches(): Promise<Record<string, number>> {
  const r = await controlPlane().kubectl(['get', '--raw', '/metrics']);
  assert.equal(r.exitCode, 0, r.stderr);
  const out: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^apiserver_longrunning_requests\{(.*)\} (\d+)$/.exec(line);
    if (!m || !/verb="WATCH"/.test(m[1]!)) continue;
    const resource = /resource="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
    out[resource] = (out[resource] ?? 0) + Number(m[2]);
  }
  return out;
}

const delta = (before: Record<string, number>, now: Record<string, number>, resource: string): number => (now[resource] ?? 0) - (before[resource] ?? 0);

describe('kube: loam-controller shares its informers (real process, real API server)', function () {
  this.timeout(90_000);
  let controller: RunningController | undefined;

  after(async () => {
    if (controller) await stopController(controller);
  });

  it('opens one watch per kind for the CSI service, the claim binder and the volume placer together', async () => {
    const before = await openWatches();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loam-watches-'));
    try {
      controller = startController(['--leader-elect', 'false', '--csi-endpoint', `unix://${path.join(dir, 'csi.sock')}`]);
      const kinds = ['localvolumes', 'localvolumereplicas', 'localstoragenodes', 'localdisks'];
      await waitUntil('the controller\'s watches', async () => {
        const now = await openWatches();
        return kinds.every((k) => delta(before, now, k) >= 1) && /"loam-controller running"/.test(controller!.stderr());
      }, 30_000, () => controller!.stderr().split('\n').slice(-20).join('\n'));
      await new Promise((r) => setTimeout(r, 1500));
      const now = await openWatches();
      assert.deepEqual(Object.fromEntries(kinds.map((k) => [k, delta(before, now, k)])), Object.fromEntries(kinds.map((k) => [k, 1])));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kube: loam-node shares its informers (real process, real API server)', function () {
  this.timeout(90_000);
  const nodeName = uniqueNodeName('watches');
  let node: NodeProcess | undefined;
  let dir = '';

  after(async () => {
    await node?.stop('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
    const c = clients();
    for (const ref of [loamResources.localDiskNodes, loamResources.localStorageNodes]) await c.rest.request('DELETE', resourcePath(ref, undefined, nodeName)).catch(() => undefined);
    await c.rest.request('DELETE', resourcePath(loamResources.localDisks), { query: { labelSelector: nodeLabelSelector(nodeName) } }).catch(() => undefined);
  });

  it('opens one watch of the node\'s LocalDisks and one of its LocalVolumeReplicas, not one per part', async () => {
    const before = await openWatches();
    dir = await mkdtemp(path.join(os.tmpdir(), 'loam-watches-'));
    node = new NodeProcess(nodeName, ['--local-storage', 'true', '--csi-endpoint', `unix://${path.join(dir, 'csi.sock')}`]);
    const c = clients();
    await waitUntil('loam-node running with local storage', async () => /"loam-node running"/.test(node!.log)
      && (await c.rest.request<LocalStorageNode>('GET', resourcePath(loamResources.localStorageNodes, undefined, nodeName)).catch(() => undefined)) !== undefined, 60_000, () => node!.tail());
    // Every part has started its informer by now; give the watches a moment to open, then count.
    await waitUntil('the watches to open', async () => {
      const now = await openWatches();
      return delta(before, now, 'localdisks') >= 1 && delta(before, now, 'localvolumereplicas') >= 1;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const now = await openWatches();
    assert.equal(delta(before, now, 'localdisks'), 1, `watches of localdisks: ${JSON.stringify({ before: before.localdisks, now: now.localdisks })}`);
    assert.equal(delta(before, now, 'localvolumereplicas'), 1, `watches of localvolumereplicas: ${JSON.stringify({ before: before.localvolumereplicas, now: now.localvolumereplicas })}`);
  });
});
