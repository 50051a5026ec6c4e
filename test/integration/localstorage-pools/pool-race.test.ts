/**
 * The pool step against data written after the safety probe (issue #13, item 3), for real: a
 * PoolManager in this process against the real API server, the host's LVM and a real loop device,
 * with the real probe; after the probe, right before the pool step's pvcreate, the test writes ext4
 * on the device, as a person or another program could in that moment. The ext4 must survive and the
 * disk must be reported (Pooled=False with the reason, and a Warning event).
 *
 * Also the probe's O_EXCL: a loop device that another opener holds exclusively is "in use".
 */
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { execa } from 'execa';
import { apiVersion, labels, loamResources, localStorageOwner, type LocalDisk } from '../../../src/api/index.js';
import { componentLogger } from '../../../src/common/logger.js';
import { EventRecorder, Informer, patchStatus, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { probeDisk, readSystemTables } from '../../../src/ldm/probe.js';
import { assessSafety } from '../../../src/ldm/safety.js';
import { enumerateBlockDevices } from '../../../src/ldm/udev.js';
import { Lvm } from '../../../src/localstorage/lvm.js';
import { poolDeviceSource } from '../../../src/localstorage/pool-devices.js';
import { PoolManager } from '../../../src/localstorage/pool-manager.js';
import { eventsAbout } from '../ldm-claims/support.js';
import { attachNew, clients, getDisk, loopDiskName, run, uniqueNodeName, waitUntil } from '../ldm-node/support.js';
import { LoopDevices } from '../udev/support/loop.js';
import { assertNoLoamVgs, printedPvs, printedVgs, removeLoamLvm } from './support.js';

const MiB = 1024 * 1024;

async function fsType(device: string): Promise<string> {
  return (await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], { reject: false })).stdout.trim();
}

describe('the pool step against a filesystem written after the safety probe (real API server, LVM, loop device)', function () {
  this.timeout(120_000);
  const nodeName = uniqueNodeName('race');
  const loops = new LoopDevices();
  const log = componentLogger('pool-race-test');
  let c: KubeClients;
  let informer: Informer<LocalDisk> | undefined;
  let pools: PoolManager | undefined;
  let device = '';
  let name = '';
  let guarded = false;

  before(async function () {
    await assertNoLoamVgs();
    guarded = true;
    c = clients();
    const file = await loops.sparseFile(64 * MiB, 'race.img');
    device = await attachNew(loops, file);
    name = loopDiskName(nodeName, file);
    // The LocalDisk as loam-node publishes it and the claim binder binds it: claimed for Local Storage.
    const body: LocalDisk = {
      apiVersion, kind: 'LocalDisk',
      metadata: { name, labels: { [labels.node]: nodeName } },
      spec: { nodeName, devicePath: device, capacityBytes: 64 * MiB, mediaClass: 'SSD', claimRef: { name: `${nodeName}-claim`, uid: 'race-claim-uid' }, owner: localStorageOwner },
    };
    await c.rest.request('POST', resourcePath(loamResources.localDisks), { body, query: { fieldValidation: 'Strict' } });
    await patchStatus(c, loamResources.localDisks, { name }, { state: 'Claimed' }, { fieldManager: 'loam-node' });
  });

  after(async function () {
    await pools?.stop();
    await informer?.stop();
    if (c && name) await c.rest.request('DELETE', resourcePath(loamResources.localDisks, undefined, name)).catch(() => undefined);
    if (guarded) await removeLoamLvm(device ? [device] : []);
    await loops.cleanup();
  });

  it('ext4 written between the probe and pvcreate survives; the disk is reported NotSafe with the reason and an event', async function () {
    informer = new Informer<LocalDisk>(c.rest, { resource: loamResources.localDisks, labelSelector: `${labels.node}=${nodeName}`, logger: log });
    informer.start();
    await informer.waitForSync(30_000);
    let written = false;
    // The real door; once, right before its pvcreate (after the probe of that pass), a filesystem
    // lands on the device, as it could from a person or another program in that moment.
    class RacedLvm extends Lvm {
      override async pvcreate(dev: string, o?: Parameters<Lvm['pvcreate']>[1]): Promise<void> {
        if (!written) {
          await run('mkfs.ext4', ['-q', '-F', device]);
          written = true;
        }
        return super.pvcreate(dev, o);
      }
    }
    const lvm = new RacedLvm({ logger: log, devices: poolDeviceSource(informer, nodeName) });
    pools = new PoolManager({
      clients: c, nodeName, lvm, informer, logger: log,
      recorder: new EventRecorder(c, { reportingController: 'loam.io/loam-node', reportingInstance: nodeName }),
      onPoolsChanged: async () => undefined,
    });
    await pools.start();

    const events = await waitUntil('the pool step to report the disk', async () => {
      const e = await eventsAbout(c, 'LocalDisk', name);
      return e.some((x) => x.reason === 'DiskNotPooled' || x.reason === 'DiskPooled' || x.reason === 'PoolingFailed') ? e : undefined;
    }, 60_000);
    assert.ok(written, 'the filesystem was written after the probe, right before pvcreate');
    assert.equal(await fsType(device), 'ext4', `the ext4 written after the probe survives; events: ${JSON.stringify(events)}`);
    assert.equal((await printedPvs()).has(device), false, 'the device is no PV');
    assert.deepEqual((await printedVgs()).filter((v) => v.name.startsWith('loam-')), [], 'no Loam VG was made');
    const ev = events.find((x) => x.reason === 'DiskNotPooled');
    assert.ok(ev, `a DiskNotPooled event; got ${JSON.stringify(events)}`);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.note, /holds a filesystem \(ext4\)/);
    const cond = await waitUntil('the Pooled condition', async () => (await getDisk(c, name))?.status?.conditions?.find((x) => x.type === 'Pooled'), 20_000);
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'NotSafe');
    assert.match(cond.message ?? '', /holds a filesystem \(ext4\)/);
    assert.equal(pools.problems().find((p) => p.disk === name)?.message.includes('holds a filesystem (ext4)'), true, 'the LocalStorageNode message names it too');
  });

  it('the safety probe holds the device O_EXCL: one that another opener holds exclusively is in use (EBUSY), with what it holds', async function () {
    // The PoolManager of the case above would probe (and so hold) the device now and then.
    await pools?.stop();
    pools = undefined;
    const dev = enumerateBlockDevices().find((d) => d.devnode === device)!;
    const holder = await open(device, constants.O_RDONLY | constants.O_EXCL);
    try {
      const facts = await probeDisk(dev, await readSystemTables());
      assert.equal(facts.busy, true);
      assert.equal(facts.signature, 'ext4', 'what the disk holds is still read');
      assert.deepEqual(assessSafety(facts), { safe: false, reason: 'is in use (the kernel refused exclusive access: mounted or claimed elsewhere)', code: 'InUse' });
    } finally {
      await holder.close();
    }
    assert.equal((await probeDisk(dev, await readSystemTables())).busy, undefined, 'free again once the other opener closed it');
  });
});
