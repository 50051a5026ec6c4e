/**
 * Local Storage pools for real: loam-node (real process) and loam-controller (the claim binder)
 * against the real API server, real loop devices and the host's LVM. Claimed disks of two classes
 * become the VGs loam-ssd and loam-hdd with exactly the right PVs; a disk that got a filesystem
 * after it was claimed is not pooled and an event says why; so is a disk put in a foreign VG; a disk
 * pvcreated by Loam before a crash (its UUID recorded on the LocalDisk first) is adopted, a bare PV
 * Loam has no record of is left alone; pvcreate failing on a read-only device is an event with
 * LVM's line and is retried until it works; the LocalStorageNode equals what vgs/pvs print; SIGTERM
 * exits 0 also in the middle of LVM retries; a restart changes nothing.
 *
 * All host-LVM cases are in this one describe: it is the only test that may create the Loam VGs
 * (it refuses to run when one exists and removes them afterwards, also after a failure).
 */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { loamResources, type LocalDisk, type LocalStorageNode } from '../../../src/api/index.js';
import { patchStatus, type KubeClients } from '../../../src/kube/index.js';
import { isPvUuid, newPvUuid } from '../../../src/localstorage/lvm.js';
import { cleanup as cleanupClaims, createClaim, eventsAbout, startController, type RunningController } from '../ldm-claims/support.js';
import { attachNew, clients, deleteNodeObjects, getDisk, loopDiskName, NodeProcess, run, setRotational, uniqueNodeName, waitForState, waitUntil } from '../ldm-node/support.js';
import { LoopDevices } from '../udev/support/loop.js';
import { assertNoLoamVgs, deleteStorageNode, getStorageNode, printedPvs, printedVgs, pvcreate, removeLoamLvm } from './support.js';

const MiB = 1024 * 1024;

interface TestDisk {
  device: string;
  name: string;
}

describe('Local Storage pools on the host (real loam-node, claim binder, loop devices and LVM)', function () {
  this.timeout(180_000);
  const nodeName = uniqueNodeName('lsp');
  const loops = new LoopDevices();
  const claims = [`${nodeName}-ssd`, `${nodeName}-hdd`];
  let c: KubeClients;
  let controller: RunningController | undefined;
  let node: NodeProcess | undefined;
  let guarded = false;
  const disk: Record<'ssd1' | 'ssd2' | 'hdd' | 'fs' | 'crashed' | 'bare' | 'readonly' | 'foreign', TestDisk> = {} as never;
  // The UUID loam-node recorded on the crashed disk before its pvcreate.
  const crashedUuid = newPvUuid();
  // Someone else's VG (not a Loam name) on a claimed disk: Loam must leave it alone.
  const foreignVg = `loamtest-foreign-${nodeName.slice(-6)}`;

  async function addDisk(key: keyof typeof disk, sizeMiB: number, rotational: boolean): Promise<void> {
    const file = await loops.sparseFile(sizeMiB * MiB, `${key}.img`);
    const device = await attachNew(loops, file);
    await setRotational(device, rotational);
    disk[key] = { device, name: loopDiskName(nodeName, file) };
  }

  const logs = (): string => `loam-node log:\n${node?.tail(40) ?? ''}\nloam-controller log:\n${controller?.stderr().slice(-3000) ?? ''}`;

  before(async function () {
    await assertNoLoamVgs();
    guarded = true;
    c = clients();
    await addDisk('ssd1', 64, false);
    await addDisk('ssd2', 96, false);
    await addDisk('hdd', 128, true);
    await addDisk('fs', 64, false);
    await addDisk('crashed', 64, false);
    await addDisk('bare', 64, false);
    await addDisk('readonly', 64, false);
    await addDisk('foreign', 64, false);
    controller = startController(['--leader-elect', 'false']);
  });

  after(async function () {
    await node?.stop();
    controller?.child.kill('SIGTERM');
    await controller?.exited;
    if (c) {
      await cleanupClaims(c, claims, []);
      await deleteNodeObjects(c, nodeName);
      await deleteStorageNode(c, nodeName);
    }
    // Only what this test made: it checked before that no Loam VG existed.
    if (disk.readonly) await execa('blockdev', ['--setrw', disk.readonly.device], { reject: false });
    await execa('lvm', ['vgremove', '--yes', '--force', foreignVg], { reject: false, env: { LVM_SUPPRESS_FD_WARNINGS: '1' } });
    if (guarded) await removeLoamLvm(Object.values(disk).map((d) => d.device));
    await loops.cleanup();
  });

  it('claims disks while Local Storage is off; then a filesystem lands on one, another is pvcreated by Loam (a crash after pvcreate), a third pvcreated by someone else, a fourth made read-only, a fifth put in a foreign VG', async function () {
    node = new NodeProcess(nodeName, ['--local-storage', 'false']);
    for (const d of Object.values(disk)) await waitForState(c, d.name, 'Available', 20_000, undefined, node);
    await createClaim(c, claims[0]!, nodeName, { mediaClass: 'SSD', devicePaths: [disk.ssd1.device, disk.ssd2.device, disk.fs.device, disk.crashed.device, disk.bare.device, disk.readonly.device, disk.foreign.device] });
    await createClaim(c, claims[1]!, nodeName, { mediaClass: 'HDD', devicePaths: [disk.hdd.device] });
    for (const d of Object.values(disk)) await waitForState(c, d.name, 'Claimed', 20_000, undefined, node);
    assert.equal(await getStorageNode(c, nodeName), undefined, 'with --local-storage false there is no LocalStorageNode');

    await run('mkfs.ext4', ['-q', '-F', disk.fs.device]);
    // What loam-node does before a crash: the record first, then pvcreate with that UUID.
    await patchStatus(c, loamResources.localDisks, { name: disk.crashed.name }, { pvUuid: crashedUuid }, { fieldManager: 'loam-node-pools' });
    await run('lvm', ['pvcreate', '--uuid', crashedUuid, '--norestorefile', disk.crashed.device]);
    // A bare PV someone else made: Loam has no record of it.
    await pvcreate(disk.bare.device);
    // A read-only device: pvcreate fails with LVM's own words until it is writable again.
    await run('blockdev', ['--setro', disk.readonly.device]);
    await pvcreate(disk.foreign.device);
    await run('lvm', ['vgcreate', '--yes', foreignVg, disk.foreign.device]);
    await waitForState(c, disk.fs.name, 'Unavailable', 20_000, 'holds a filesystem (ext4)', node);
    assert.equal((await printedPvs()).get(disk.crashed.device), '', 'the crashed disk is a PV in no VG');
    assert.equal((await printedPvs()).get(disk.bare.device), '', 'so is the bare one');
    assert.deepEqual((await printedVgs()).filter((v) => v.name.startsWith('loam-')), [], 'no Loam VG yet');
    assert.equal(await node.stop(), 0);
    node = undefined;
  });

  it('with Local Storage on: loam-ssd and loam-hdd hold exactly the claimed empty disks (the crashed one adopted by its recorded UUID), tagged loam.io, disks InUse', async function () {
    node = new NodeProcess(nodeName, ['--local-storage', 'true']);
    // Generous: on a loaded machine (2 cores shared by several test runs) one LVM command can take seconds.
    for (const d of [disk.ssd1, disk.ssd2, disk.hdd, disk.crashed]) await waitForState(c, d.name, 'InUse', 60_000, undefined, node);
    const pvs = await waitUntil('every pool disk in its VG', async () => {
      const p = await printedPvs();
      return [disk.ssd1, disk.ssd2, disk.crashed].every((d) => p.get(d.device) === 'loam-ssd') && p.get(disk.hdd.device) === 'loam-hdd' ? p : undefined;
    }, 40_000, logs);
    const inVg = (vg: string): string[] => [...pvs].filter(([, v]) => v === vg).map(([pv]) => pv).sort();
    assert.deepEqual(inVg('loam-ssd'), [disk.ssd1.device, disk.ssd2.device, disk.crashed.device].sort());
    assert.deepEqual(inVg('loam-hdd'), [disk.hdd.device]);
    assert.equal(pvs.has(disk.fs.device), false, 'the disk with a filesystem is not a PV');
    assert.equal(pvs.get(disk.bare.device), '', 'the bare PV Loam did not make is in no VG still');
    for (const d of [disk.ssd1, disk.ssd2, disk.hdd]) assert.ok(isPvUuid((await getDisk(c, d.name))?.status?.pvUuid ?? ''), `${d.name} records the UUID of its PV`);
    assert.equal((await getDisk(c, disk.crashed.name))?.status?.pvUuid, crashedUuid);
    const vgs = (await printedVgs()).filter((v) => v.name.startsWith('loam-'));
    assert.deepEqual(vgs.map((v) => [v.name, v.tags]).sort(), [['loam-hdd', ['loam.io']], ['loam-ssd', ['loam.io']]]);

    const pooled = (await getDisk(c, disk.ssd1.name))!;
    const cond = pooled.status?.conditions?.find((x) => x.type === 'Pooled');
    const events = await eventsAbout(c, 'LocalDisk', disk.ssd1.name);
    assert.ok(events.some((e) => e.type === 'Normal' && e.reason === 'DiskPooled' && /joined volume group loam-ssd/.test(e.note)), `a DiskPooled event; got ${JSON.stringify(events)}; condition ${JSON.stringify(cond)}`);
  });

  it('the disk that got a filesystem after its claim is not pooled: it keeps its data, and an event and the LocalStorageNode say why', async function () {
    const events = await waitUntil('a DiskNotPooled event', async () => {
      const e = await eventsAbout(c, 'LocalDisk', disk.fs.name);
      return e.some((x) => x.reason === 'DiskNotPooled') ? e : undefined;
    }, 40_000, logs);
    const ev = events.find((x) => x.reason === 'DiskNotPooled')!;
    assert.equal(ev.type, 'Warning');
    assert.match(ev.note, /holds a filesystem \(ext4\).*wipefs -a/);
    const { stdout } = await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', disk.fs.device]);
    assert.equal(stdout.trim(), 'ext4', 'the filesystem is untouched');
    const lsn = await waitUntil('the LocalStorageNode to name the refused disk', async () => {
      const n = await getStorageNode(c, nodeName);
      return n?.status?.message?.includes(disk.fs.name) ? n : undefined;
    }, 40_000, logs);
    assert.match(lsn.status!.message!, /holds a filesystem \(ext4\)/);
    const pooledCond = lsn.status!.conditions!.find((x) => x.type === 'DisksPooled');
    assert.equal(pooledCond?.status, 'False');
    assert.notEqual((await getDisk(c, disk.fs.name))?.status?.state, 'InUse');
  });

  it('a bare PV Loam has no record of making is left alone: event, Pooled=False condition, no VG, no record (item 4)', async function () {
    const ev = await waitUntil('a DiskNotPooled event', async () => (await eventsAbout(c, 'LocalDisk', disk.bare.name)).find((x) => x.reason === 'DiskNotPooled'), 40_000, logs);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.note, /is an LVM physical volume in no volume group that Loam did not make/);
    const d = (await getDisk(c, disk.bare.name))!;
    const cond = d.status?.conditions?.find((x) => x.type === 'Pooled');
    assert.equal(cond?.reason, 'ForeignPhysicalVolume');
    assert.equal(cond?.status, 'False');
    assert.equal(d.status?.pvUuid, undefined, 'no record is made for a PV Loam did not make');
    assert.equal((await printedPvs()).get(disk.bare.device), '');
  });

  it('a disk that became a PV of a foreign VG after its claim is never touched: event, LocalStorageNode message, VG unchanged', async function () {
    const ev = await waitUntil('a ForeignVolumeGroup event', async () => (await eventsAbout(c, 'LocalDisk', disk.foreign.name)).find((x) => x.reason === 'ForeignVolumeGroup'), 40_000, logs);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.note, new RegExp(`physical volume of volume group ${foreignVg}, which Loam did not create`));
    await waitUntil('the LocalStorageNode to name the foreign disk', async () => (await getStorageNode(c, nodeName))?.status?.message?.includes(`${disk.foreign.name} (${disk.foreign.device})`), 40_000, logs);
    assert.equal((await printedPvs()).get(disk.foreign.device), foreignVg);
    assert.equal((await printedVgs()).find((v) => v.name === foreignVg)?.tags.length, 0, 'the foreign VG got no tag');
  });

  it('the LocalStorageNode pools equal vgs/pvs: sizes, free bytes, disks; Ready with a heartbeat and printer fields', async function () {
    const printed = new Map((await printedVgs()).map((v) => [v.name, v]));
    const lsn = await waitUntil('LocalStorageNode pools to match vgs', async () => {
      const n = await getStorageNode(c, nodeName);
      const pools = n?.status?.pools ?? [];
      const ok = pools.length === 2 && pools.every((p) => p.totalBytes === printed.get(p.vgName!)?.sizeBytes && p.freeBytes === printed.get(p.vgName!)?.freeBytes && (p.disks?.length ?? 0) > 0);
      return ok && (pools.find((p) => p.name === 'loam-ssd')?.disks?.length ?? 0) === 3 ? n : undefined;
    }, 40_000, logs) as LocalStorageNode;
    const st = lsn.status!;
    assert.equal(st.state, 'Ready');
    assert.equal(lsn.spec.nodeName, nodeName);
    assert.equal(lsn.metadata.labels?.['loam.io/node'], nodeName);
    const byName = new Map(st.pools!.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('loam-ssd')!.disks, [disk.ssd1.name, disk.ssd2.name, disk.crashed.name].sort());
    assert.deepEqual(byName.get('loam-hdd')!.disks, [disk.hdd.name]);
    for (const p of st.pools!) {
      assert.equal(p.mediaClass, p.name === 'loam-ssd' ? 'SSD' : 'HDD');
      assert.equal(p.vgName, p.name);
      assert.equal(p.volumeCount, 0);
    }
    assert.equal(st.poolClasses, 'HDD,SSD');
    assert.ok(st.free && st.free !== '0', `free is printed: ${st.free}`);
    const beat = Date.parse(st.lastHeartbeatTime!);
    await waitUntil('the heartbeat to advance', async () => Date.parse((await getStorageNode(c, nodeName))?.status?.lastHeartbeatTime ?? '0') > beat, 10_000, logs);
  });

  it('an LVM failure (pvcreate on a read-only device) is an event with LVM\'s line and a line on the LocalStorageNode, retried until it works', async function () {
    // The event that names the cause. A probe of the same device (loam-node's own disk check on a
    // uevent, or another process) may hold it exclusively at that moment, as happened on a loaded
    // CI machine: that attempt fails with LVM's "Can't open ... exclusively" as an event of its
    // own, and the retry then meets the read-only device.
    const readOnlyLine = new RegExp(`^pvcreate ${disk.readonly.device} failed: .*(writ|read-only)`, 'i');
    const failed = await waitUntil('a PoolingFailed event with LVM\'s read-only line', async () => {
      const e = await eventsAbout(c, 'LocalDisk', disk.readonly.name);
      return e.find((x) => x.reason === 'PoolingFailed' && readOnlyLine.test(x.note));
    }, 60_000, logs);
    assert.equal(failed.type, 'Warning');
    const lsn = (await getStorageNode(c, nodeName))!;
    assert.ok(lsn.status?.message?.includes(`${disk.readonly.name} (${disk.readonly.device}): pvcreate`), `LocalStorageNode message: ${lsn.status?.message}`);
    assert.equal(lsn.status?.state, 'Ready', 'one disk that cannot be pooled does not make the node NotReady');

    // SIGTERM while the failure is being retried: a clean exit, and the next agent takes over.
    // (exit code 0, not a signal: execa's 5 s SIGKILL fallback did not have to step in)
    assert.equal(await node!.stop(), 0, `loam-node exits 0 on SIGTERM during retries\n${logs()}`);
    node = new NodeProcess(nodeName, ['--local-storage', 'true']);
    await waitUntil('the failure again after the restart', async () => node!.log.includes('disk not pooled') || undefined, 40_000, logs);

    await run('blockdev', ['--setrw', disk.readonly.device]);
    await waitForState(c, disk.readonly.name, 'InUse', 60_000, undefined, node);
    await waitUntil('the disk in loam-ssd and off the LocalStorageNode message', async () => {
      const n = await getStorageNode(c, nodeName);
      const ssd = n?.status?.pools?.find((p) => p.name === 'loam-ssd');
      return (await printedPvs()).get(disk.readonly.device) === 'loam-ssd' && ssd?.disks?.includes(disk.readonly.name) && !n?.status?.message?.includes(disk.readonly.name);
    }, 40_000, logs);
  });

  it('a restart adopts what exists: no new PV or VG, disks stay InUse, the node is Ready again with the same pools', async function () {
    const before = await printedPvs();
    const lsnBefore = (await getStorageNode(c, nodeName))!;
    assert.equal(await node!.stop(), 0, `loam-node exits 0 on SIGTERM\n${logs()}`);
    node = new NodeProcess(nodeName, ['--local-storage', 'true']);
    const started = Date.now();
    await waitUntil('a fresh heartbeat after the restart', async () => Date.parse((await getStorageNode(c, nodeName))?.status?.lastHeartbeatTime ?? '0') > started, 30_000, logs);
    const after = (await getStorageNode(c, nodeName))!;
    assert.equal(after.status?.state, 'Ready');
    assert.deepEqual(after.status?.pools, lsnBefore.status?.pools);
    assert.deepEqual(await printedPvs(), before);
    for (const d of [disk.ssd1, disk.ssd2, disk.hdd, disk.crashed, disk.readonly]) assert.equal(((await getDisk(c, d.name)) as LocalDisk).status?.state, 'InUse');
    assert.match(node.log, /volume group active/);
  });
});
