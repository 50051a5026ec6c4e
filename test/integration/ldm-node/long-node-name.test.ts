/**
 * A node whose name is a long FQDN (more than 63 characters, so not a label value): loam-node
 * still publishes its disks, its LocalDiskNode and its LocalStorageNode, labelled with
 * nodeLabelValue(node), and its informers (selectors on the same value) see its objects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { apiVersion, labels, loamResources, nodeLabelSelector, nodeLabelValue, type LocalDisk, type LocalDiskNode, type LocalStorageNode, type LocalVolumeReplica } from '../../../src/api/index.js';
import { resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { LoopDevices } from '../udev/support/loop.js';
import { attachNew, clients, loopDiskName, NodeProcess, setRotational, waitForState, waitUntil } from './support.js';

const MiB = 1024 * 1024;

describe('loam-node with a node name longer than a label value (real process, real API server)', function () {
  this.timeout(90_000);
  const nodeName = `ldm-long-${randomBytes(3).toString('hex')}.${'rack-a7.'.repeat(6)}dc1.example.internal`;
  const loops = new LoopDevices();
  let c: KubeClients;
  let node: NodeProcess | undefined;
  let blankFile = '';
  const replicaName = `pvc-long-${randomBytes(3).toString('hex')}`;

  const get = async <T>(path: string): Promise<T | undefined> => c.rest.request<T>('GET', path).catch(() => undefined);

  before(async function () {
    assert.ok(nodeName.length > 70, `${nodeName.length} characters`);
    c = clients();
    blankFile = await loops.sparseFile(64 * MiB, 'long-blank.img');
    await setRotational(await attachNew(loops, blankFile), false);
    node = new NodeProcess(nodeName, ['--local-storage', 'true']);
  });

  after(async function () {
    await node?.stop('SIGKILL');
    await loops.cleanup();
    await c.rest.request('DELETE', resourcePath(loamResources.localDisks), { query: { labelSelector: nodeLabelSelector(nodeName) } }).catch(() => undefined);
    for (const [ref, name] of [[loamResources.localVolumeReplicas, replicaName], [loamResources.localDisks, loopDiskName(nodeName, blankFile)], [loamResources.localDiskNodes, nodeName], [loamResources.localStorageNodes, nodeName]] as const) {
      await c.rest.request('PATCH', resourcePath(ref, undefined, name), { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' }).catch(() => undefined);
      await c.rest.request('DELETE', resourcePath(ref, undefined, name)).catch(() => undefined);
    }
  });

  it('publishes the disk labelled with the node\'s label value, found by a selector on it', async function () {
    const disk = await waitForState(c, loopDiskName(nodeName, blankFile), 'Available', 30_000, undefined, node);
    assert.equal(disk.spec.nodeName, nodeName);
    assert.equal(disk.metadata?.labels?.[labels.node], nodeLabelValue(nodeName));
    const selected = await c.rest.request<{ items: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks), { query: { labelSelector: `${labels.node}=${nodeLabelValue(nodeName)}` } });
    // Other loop devices of the host (other tests) are this node's disks too: all of them, and only them, are selected.
    assert.ok(selected.items.some((d) => d.metadata?.name === disk.metadata?.name));
    assert.deepEqual(selected.items.filter((d) => d.spec.nodeName !== nodeName), []);
  });

  it('writes its LocalDiskNode and LocalStorageNode, labelled the same way', async function () {
    const ldn = await waitUntil('the LocalDiskNode', () => get<LocalDiskNode>(resourcePath(loamResources.localDiskNodes, undefined, nodeName)), 30_000, () => node!.tail());
    assert.equal(ldn.metadata?.labels?.[labels.node], nodeLabelValue(nodeName));
    const lsn = await waitUntil('the LocalStorageNode', () => get<LocalStorageNode>(resourcePath(loamResources.localStorageNodes, undefined, nodeName)), 30_000, () => node!.tail());
    assert.equal(lsn.metadata?.labels?.[labels.node], nodeLabelValue(nodeName));
  });

  it('reconciles a replica of the node that carries the label value (its replica informer selects it)', async function () {
    const replica: LocalVolumeReplica = {
      apiVersion, kind: 'LocalVolumeReplica',
      metadata: { name: replicaName, labels: { [labels.node]: nodeLabelValue(nodeName), [labels.volume]: replicaName, [labels.poolClass]: 'SSD' } },
      spec: { volumeName: replicaName, nodeName, poolName: 'loam-ssd', capacityBytes: 4 * MiB },
    };
    await c.rest.request('POST', resourcePath(loamResources.localVolumeReplicas), { body: replica });
    // The node has no loam-ssd pool: whatever the agent says, it says it in status, so it saw the replica.
    const seen = await waitUntil('the node agent to write the replica\'s status', async () => {
      const r = await get<LocalVolumeReplica>(resourcePath(loamResources.localVolumeReplicas, undefined, replicaName));
      return r?.status?.state ? r : undefined;
    }, 30_000, () => node!.tail());
    assert.ok(seen.status?.state);
    assert.doesNotMatch(node!.log, /must be no more than 63 characters/);
  });
});
