/**
 * Pools under attack and under a lost disk, on real device-mapper (issue #13):
 * - item 5: a tenant who builds LVM inside a volume (on a device-mapper layer over its LV, as
 *   dm-crypt, multipath or a privileged pod can make) and names the VG like a Loam pool, tagged loam.io, gets no pool: loam-node
 *   neither reports it nor runs any LVM command on it, because every LVM call sees only the disks
 *   claimed for Local Storage.
 * - item 14: one of a pool's two PVs gone when loam-node starts: the pool is Degraded with the
 *   missing disk named, the node stays Ready, the volume whose LV lies on the present disk is still
 *   active and Ready, and the missing disk's LocalDisk gets an event.
 *
 * One VM for the file.
 */
import assert from 'node:assert/strict';
import { apiVersion, labels, loamResources, localStorageOwner, type LocalDisk, type LocalDiskClaim, type LocalStorageNode } from '../../src/api/index.js';
import { resourcePath } from '../../src/kube/index.js';
import { withLocalStorageCluster, type LocalStorageCluster } from './harness/local-storage.js';
import { waitFor } from '../../tools/testenv/wait.js';

const MiB = 1024 ** 2;
const nodeName = 'vm-pool';
const lvmEnv = 'DM_DISABLE_UDEV=1 LVM_SUPPRESS_FD_WARNINGS=1';

describe('e2e: pool safety in a VM (a tenant VG named like a pool; a pool with a missing disk)', function () {
  this.timeout(600_000);
  let ls: LocalStorageCluster;

  const storageNode = async (): Promise<LocalStorageNode | undefined> =>
    ls.clients.rest.request<LocalStorageNode>('GET', resourcePath(loamResources.localStorageNodes, undefined, nodeName)).catch(() => undefined);
  const disks = async (): Promise<LocalDisk[]> =>
    (await ls.clients.rest.request<{ items: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks), { query: { labelSelector: `${labels.node}=${nodeName}` } })).items;
  /** Restarts loam-node and waits for a LocalStorageNode report written after the restart. */
  const restartLoamNode = async (): Promise<void> => {
    await ls.killLoamNode();
    const started = Date.now();
    await ls.startLoamNode();
    await ls.waitWhileRunning('a LocalStorageNode report after the restart', async () => Date.parse((await storageNode())?.status?.lastHeartbeatTime ?? '0') > started, 180_000);
  };

  const cluster = withLocalStorageCluster({ nodeName, poolDiskBytes: 256 * MiB });
  before(function () {
    ls = cluster();
  });

  it('a VG named loam-nvme and tagged loam.io inside a volume is not a pool, and loam-node runs no LVM command on it (item 5)', async function () {
    const name = ls.newVolumeName();
    await ls.createVolume(name, 16 * MiB);
    await ls.waitVolumeReady(name, 16 * MiB);
    // The tenant's block volume seen as a disk of its own (a device-mapper layer over the LV, as
    // dm-crypt, multipath or a privileged pod can make), with LVM on it.
    const lv = `/dev/${ls.vgName}/${name}`;
    await ls.vm.runOk(`${lvmEnv} dmsetup create tenant-layer --table "0 $(blockdev --getsz ${lv}) linear ${lv} 0"`);
    const layer = '/dev/mapper/tenant-layer';
    await ls.vm.runOk(`${lvmEnv} lvm pvcreate -q ${layer} && ${lvmEnv} lvm vgcreate -q --addtag loam.io loam-nvme ${layer}`);
    try {
      await restartLoamNode();
      const lsn = (await storageNode())!;
      assert.deepEqual(lsn.status?.pools?.map((p) => p.name), [ls.vgName], `only the real pool is reported; got ${JSON.stringify(lsn.status?.pools)}`);
      assert.equal(lsn.status?.poolClasses, ls.mediaClass);
      const vg = await ls.vm.runOk(`${lvmEnv} lvm vgs --noheadings -o vg_name,vg_tags,lv_count loam-nvme`);
      assert.match(vg, /loam-nvme\s+loam\.io\s+0/, 'the tenant\'s VG is as the tenant left it');
      assert.doesNotMatch(await ls.logs(), /loam-nvme/, 'loam-node never named (so never activated or changed) the tenant\'s VG');
    } finally {
      await ls.vm.runOk(`${lvmEnv} lvm vgremove -q -y loam-nvme; ${lvmEnv} lvm pvremove -q -y ${layer}; ${lvmEnv} dmsetup remove tenant-layer`);
    }
  });

  it('one of two PVs missing at start: the pool is Degraded naming the disk, the node Ready, the volume on the present disk active and Ready, an event on the disk (item 14)', async function () {
    // A volume whose LV lies wholly on the first disk (made while it is the only one).
    const whole = ls.newVolumeName();
    await ls.createVolume(whole, 32 * MiB);
    await ls.waitVolumeReady(whole, 32 * MiB);

    // A second disk joins the pool.
    await ls.vm.plugDisk({ id: 'pool1', sizeBytes: 256 * MiB });
    let dev: string | undefined;
    await waitFor('the second disk in the guest', async () => (dev = await ls.vm.deviceWithSerial('pool1')) !== undefined, 60_000, 250);
    let second: LocalDisk | undefined;
    await ls.waitWhileRunning('the second disk Available', async () => {
      second = (await disks()).find((d) => d.spec.devicePath === `/dev/${dev}` && d.status?.state === 'Available');
      return second !== undefined;
    }, 120_000);
    const claim: LocalDiskClaim = {
      apiVersion, kind: 'LocalDiskClaim', metadata: { name: `${nodeName}-pool1` },
      spec: { nodeName, owner: localStorageOwner, description: { mediaClass: ls.mediaClass, devicePaths: [`/dev/${dev}`] } },
    };
    await ls.clients.rest.request('POST', resourcePath(loamResources.localDiskClaims), { body: claim, query: { fieldValidation: 'Strict' } });
    await ls.waitWhileRunning('the second disk in the VG', async () => (await ls.vm.runScript(`${lvmEnv} lvm pvs --noheadings -o vg_name /dev/${dev}`)).stdout.includes(ls.vgName), 120_000);
    // A volume bigger than what is left on the first disk: its LV spans onto the second.
    const spanning = ls.newVolumeName();
    await ls.createVolume(spanning, 256 * MiB);
    await ls.waitVolumeReady(spanning, 256 * MiB);

    // The node comes back without the second disk: loam-node gone, the VG inactive (as after a boot), the disk unplugged.
    await ls.killLoamNode();
    await ls.vm.runOk(`${lvmEnv} lvm vgchange -q -an ${ls.vgName}`);
    await ls.vm.unplugDisk('pool1');
    await ls.startLoamNode();

    let pool: NonNullable<NonNullable<LocalStorageNode['status']>['pools']>[number] | undefined;
    await ls.waitWhileRunning('the pool reported Degraded', async () => {
      pool = (await storageNode())?.status?.pools?.find((p) => p.name === ls.vgName);
      return pool?.state === 'Degraded';
    }, 120_000);
    const lsn = (await storageNode())!;
    assert.equal(lsn.status?.state, 'Ready', `the node stays Ready: ${lsn.status?.message}`);
    assert.deepEqual(pool!.missingDisks, [second!.metadata!.name], 'the missing disk is named');
    assert.equal(pool!.freeBytes, 0, 'nothing new is placed in a pool LVM will not allocate in');
    assert.match(lsn.status?.message ?? '', new RegExp(`pool ${ls.vgName} is Degraded: ${second!.metadata!.name}`));

    const active = await ls.vm.runOk(`${lvmEnv} lvm lvs --noheadings -o lv_name,lv_active ${ls.vgName} 2>/dev/null`);
    assert.match(active, new RegExp(`${whole}\\s+active`), `the whole volume's LV is active: ${active}`);
    assert.doesNotMatch(active, new RegExp(`${spanning}\\s+active`), 'the LV on the missing disk is not');
    assert.equal((await ls.getVolume(whole))?.status?.state, 'Ready');
    assert.equal((await ls.vm.runScript(`dd if=/dev/${ls.vgName}/${whole} of=/dev/null bs=1M count=4 iflag=direct`)).exitCode, 0, 'and reads');

    await ls.waitWhileRunning('a PhysicalVolumeMissing event on the missing disk', async () => {
      const events = await ls.clients.rest.request<{ items: Array<{ reason?: string; regarding?: { name?: string }; note?: string }> }>('GET', '/apis/events.k8s.io/v1/events', { query: { fieldSelector: `regarding.name=${second!.metadata!.name}` } });
      return events.items.some((e) => e.reason === 'PhysicalVolumeMissing' && (e.note ?? '').includes(ls.vgName));
    }, 60_000);
  });
});
