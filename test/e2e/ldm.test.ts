/**
 * loam-node inside a VM, as on a real node: its own node name, a kubeconfig naming the host's API
 * server as the guest reaches it, the kernel uevent source (no udevd in the guest). A disk
 * hot-plugged through QMP becomes a LocalDisk in the API server; unplugged, it goes Offline.
 */
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../tools/testenv/nodes.js';
import { waitFor } from '../../tools/testenv/wait.js';
import type { LocalDisk } from '../../src/api/index.js';
import { installGuestKubeconfig } from './harness/cluster.js';
import { GuestProcess } from './harness/guest-process.js';
import { apiServerGuestAddress } from './harness/network.js';
import { Vm } from './harness/vm.js';

const MiB = 1024 ** 2;
const nodeName = 'vm-ldm';

describe('e2e: loam-node in a VM publishes hot-plugged disks', function () {
  let cp: ControlPlane;
  let vm: Vm;
  let loamNode: GuestProcess | undefined;
  let custom: k8s.CustomObjectsApi;

  const disks = async (): Promise<LocalDisk[]> =>
    ((await custom.listClusterCustomObject({ group: 'loam.io', version: 'v1alpha1', plural: 'localdisks', labelSelector: `loam.io/node=${nodeName}` })) as { items: LocalDisk[] }).items;

  before(async function () {
    cp = await ControlPlane.start({ extraServingIps: [apiServerGuestAddress] });
    custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await createReadyNode(cp.kubeConfig(), nodeName);
    vm = await Vm.start({ name: nodeName, apiServerPort: cp.apiPort, disks: [{ id: 'boot0', sizeBytes: 64 * MiB }] });
    const kubeconfig = await installGuestKubeconfig(vm, cp);
    loamNode = await GuestProcess.start(vm, { name: 'loam-node', entry: 'src/cmd/loam-node.ts', args: ['--node-name', nodeName, '--kubeconfig', kubeconfig, '--resync-seconds', '30'], logFile: '/run/loam-node.log' });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || !vm) console.log(await loamNode?.logTail(4000));
    await vm?.stop();
    await cp?.stop();
  });

  it('creates a LocalDisk for a hot-plugged disk and marks it Offline when it is unplugged', async function () {
    // Right after start the API server may still answer 429 "storage is (re)initializing" for a CRD.
    let before: LocalDisk[] = [];
    await waitFor('the LocalDisk list to be served', async () => { before = await disks(); return true; }, 30_000, 500);
    await vm.plugDisk({ id: 'hot0', sizeBytes: 256 * MiB });
    const dev = await waitForValue('the guest to see the disk', () => vm.deviceWithSerial('hot0'), 60_000);
    let disk: LocalDisk | undefined;
    await loamNode!.waitFor(`a LocalDisk for /dev/${dev}`, async () => {
      disk = (await disks()).find((d) => d.spec.devicePath === `/dev/${dev}` && d.status?.state === 'Available');
      return disk !== undefined;
    }, 120_000, 500);
    assert.equal(disk!.spec.nodeName, nodeName);
    assert.equal(disk!.spec.capacityBytes, 256 * MiB);
    assert.ok(!before.some((d) => d.metadata?.name === disk!.metadata?.name), 'a new object, not one that was there before');

    await vm.unplugDisk('hot0');
    await loamNode!.waitFor(`LocalDisk ${disk!.metadata?.name} to go Offline`, async () => {
      return (await disks()).find((d) => d.metadata?.name === disk!.metadata?.name)?.status?.state === 'Offline';
    }, 60_000, 500);
  });
});

async function waitForValue<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  let value: T | undefined;
  await waitFor(what, async () => (value = await read()) !== undefined, timeoutMs, 250);
  return value!;
}
