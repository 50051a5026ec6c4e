/**
 * loam-node survives what happens to node agents: kill -9 and a restart (no duplicate objects, a
 * change made while it was down is caught up), and an API server that is away for 30 s.
 */
import assert from 'node:assert/strict';
import type { KubeClients } from '../../../src/kube/index.js';
import { controlPlane } from '../setup.js';
import { LoopDevices } from '../udev/support/loop.js';
import { attachNew, clients, deleteNodeObjects, listDisks, loopDiskName, NodeProcess, uniqueNodeName, waitForState } from './support.js';

const MiB = 1024 * 1024;

describe('loam-node restarts and API server outages', function () {
  this.timeout(120_000);
  const nodeName = uniqueNodeName('ldm-rs');
  const loops = new LoopDevices();
  let c: KubeClients;
  let node: NodeProcess | undefined;
  const files: string[] = [];
  const devices: string[] = [];

  before(async function () {
    c = clients();
    for (let i = 0; i < 3; i++) {
      const file = await loops.sparseFile(32 * MiB, `rs-${i}.img`);
      files.push(file);
      devices.push(await attachNew(loops, file));
    }
  });

  after(async function () {
    await node?.stop('SIGKILL');
    const cp = controlPlane();
    if (!(await cp.ready().catch(() => false))) await cp.startApiServer();
    await loops.cleanup();
    await deleteNodeObjects(c, nodeName);
  });

  it('after kill -9 and a restart: no duplicates, and a disk detached meanwhile goes Offline', async function () {
    node = new NodeProcess(nodeName);
    for (const f of files) await waitForState(c, loopDiskName(nodeName, f), 'Available', 20_000, undefined, node);
    const before = (await listDisks(c, nodeName)).map((d) => `${d.metadata!.name}@${d.metadata!.uid}`).sort();
    await node.stop('SIGKILL');
    await loops.detach(devices[0]!);
    node = new NodeProcess(nodeName);
    await waitForState(c, loopDiskName(nodeName, files[0]!), 'Offline', 20_000, undefined, node);
    for (const f of files.slice(1)) await waitForState(c, loopDiskName(nodeName, f), 'Available', 5_000, undefined, node);
    const after = (await listDisks(c, nodeName)).map((d) => `${d.metadata!.name}@${d.metadata!.uid}`).sort();
    assert.deepEqual(after.filter((k) => before.includes(k)), before, 'the same objects (same uid) survive');
    const names = (await listDisks(c, nodeName)).map((d) => d.metadata!.name);
    assert.equal(new Set(names).size, names.length);
    for (const f of files) assert.equal((await listDisks(c, nodeName)).filter((d) => d.spec.identity?.serial === f).length, 1, `one LocalDisk for ${f}`);
  });

  it('converges after the API server was stopped for 30 s', async function () {
    const cp = controlPlane();
    devices[0] = await attachNew(loops, files[0]!);
    await waitForState(c, loopDiskName(nodeName, files[0]!), 'Available', 10_000, undefined, node);
    await cp.stopApiServer();
    try {
      await loops.detach(devices[1]!);
      await new Promise((r) => setTimeout(r, 30_000));
    } finally {
      await cp.startApiServer();
    }
    await waitForState(c, loopDiskName(nodeName, files[1]!), 'Offline', 30_000, undefined, node);
    await waitForState(c, loopDiskName(nodeName, files[0]!), 'Available', 5_000, undefined, node);
    assert.equal(node!.child.exitCode, null, 'loam-node kept running');
  });
});
