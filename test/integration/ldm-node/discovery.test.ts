/**
 * loam-node as a real process against the real API server and real loop devices: every disk with
 * data is Unavailable with the matching reason and not one byte of it changes; a blank disk is
 * Available; media class follows queue/rotational; detach and reattach; claimRef and reserved
 * set by others; the LocalDiskNode summary; SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loamResources } from '../../../src/api/index.js';
import { mergePatch, patchStatus, type KubeClients } from '../../../src/kube/index.js';
import { LoopDevices } from '../udev/support/loop.js';
import { attachNew, clients, deleteNodeObjects, getDiskNode, listDisks, loopDiskName, NodeProcess, run, setRotational, sha256File, uniqueNodeName, waitForState, waitUntil, writeMdSuperblock } from './support.js';

const MiB = 1024 * 1024;

interface Prepared {
  file: string;
  device: string;
  reason: string;
  sha: string;
}

describe('loam-node discovery (real process, real loop devices)', function () {
  this.timeout(90_000);
  const nodeName = uniqueNodeName();
  const loops = new LoopDevices();
  let c: KubeClients;
  let node: NodeProcess | undefined;
  let mountDir: string | undefined;
  let swapDevice: string | undefined;
  const unsafe: Prepared[] = [];
  let blankFile = '';
  let blankDevice = '';
  let hddFile = '';
  let hddDevice = '';

  async function prepared(name: string, sizeBytes: number, reason: string, make: (file: string) => Promise<string | void>): Promise<void> {
    const file = await loops.sparseFile(sizeBytes, `${name}.img`);
    let device = await make(file);
    if (!device) device = await attachNew(loops, file);
    unsafe.push({ file, device, reason, sha: '' });
  }

  before(async function () {
    c = clients();
    blankFile = await loops.sparseFile(64 * MiB, 'blank.img');
    blankDevice = await attachNew(loops, blankFile);
    await setRotational(blankDevice, false);
    hddFile = await loops.sparseFile(96 * MiB, 'hdd.img');
    hddDevice = await attachNew(loops, hddFile);
    await setRotational(hddDevice, true);
    await prepared('ext4', 64 * MiB, 'holds a filesystem (ext4)', (f) => run('mkfs.ext4', ['-q', '-F', f]));
    await prepared('xfs', 320 * MiB, 'holds a filesystem (xfs)', (f) => run('mkfs.xfs', ['-q', f]));
    await prepared('gpt', 64 * MiB, 'has a partition table (gpt)', (f) => execa('sfdisk', ['-q', f], { input: 'label: gpt\n,\n' }).then(() => undefined));
    await prepared('dos', 64 * MiB, 'has a partition table (dos)', (f) => execa('sfdisk', ['-q', f], { input: 'label: dos\n,\n' }).then(() => undefined));
    await prepared('lvm', 64 * MiB, 'holds an LVM physical volume', async (f) => {
      const device = await attachNew(loops, f);
      await execa('pvcreate', ['-q', '-y', device], { reject: false, env: { LVM_SUPPRESS_FD_WARNINGS: '1' } });
      const { stdout } = await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], { reject: false });
      assert.equal(stdout.trim(), 'LVM2_member', 'pvcreate must have written a PV label');
      return device;
    });
    await prepared('md', 64 * MiB, 'holds a RAID member (linux_raid_member)', (f) => writeMdSuperblock(f));
    await prepared('luks', 64 * MiB, 'holds encrypted data (crypto_LUKS)', async (f) => {
      const keyFile = `${f}.key`;
      await writeFile(keyFile, 'not-a-secret');
      await run('cryptsetup', ['luksFormat', '--batch-mode', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', keyFile, f]);
    });
    await prepared('swap', 64 * MiB, 'is active swap', async (f) => {
      await run('mkswap', ['-q', f]);
      const device = await attachNew(loops, f);
      await run('swapon', [device]);
      swapDevice = device;
      return device;
    });
    mountDir = await mkdtemp(path.join(os.tmpdir(), 'loam-ldm-mnt-'));
    await prepared('mounted', 64 * MiB, `is mounted at ${mountDir}`, async (f) => {
      await run('mkfs.ext4', ['-q', '-F', f]);
      const device = await attachNew(loops, f);
      await run('mount', ['-o', 'ro', device, mountDir!]);
      return device;
    });
    for (const p of unsafe) p.sha = await sha256File(p.file);
    node = new NodeProcess(nodeName);
  });

  after(async function () {
    await node?.stop('SIGKILL');
    if (mountDir) {
      await execa('umount', [mountDir], { reject: false });
      await rm(mountDir, { recursive: true, force: true });
    }
    if (swapDevice) await execa('swapoff', [swapDevice], { reject: false });
    await loops.cleanup();
    await deleteNodeObjects(c, nodeName);
  });

  it('publishes a blank disk as Available SSD, with capacity, identity and the node label', async function () {
    const d = await waitForState(c, loopDiskName(nodeName, blankFile), 'Available', 20_000, undefined, node);
    assert.equal(d.spec.nodeName, nodeName);
    assert.equal(d.spec.devicePath, blankDevice);
    assert.equal(d.spec.capacityBytes, 64 * MiB);
    assert.equal(d.spec.mediaClass, 'SSD');
    assert.equal(d.status?.capacity, '64Mi');
    assert.equal(d.status?.health, 'Unknown');
    assert.equal(d.metadata?.labels?.['loam.io/node'], nodeName);
    assert.equal(d.status?.reason, undefined);
    assert.ok(d.status?.lastSeen, 'lastSeen is set');
    assert.deepEqual(d.metadata?.managedFields?.filter((m) => m.operation === 'Apply').map((m) => m.manager), ['loam-node']);
  });

  it('honours queue/rotational: a rotational loop device is an HDD', async function () {
    const d = await waitForState(c, loopDiskName(nodeName, hddFile), 'Available', 10_000, undefined, node);
    assert.equal(d.spec.mediaClass, 'HDD');
    await setRotational(hddDevice, false);
    await waitUntil('the disk to become an SSD', async () => (await listDisks(c, nodeName)).find((x) => x.metadata?.name === d.metadata?.name && x.spec.mediaClass === 'SSD'), 5_000);
  });

  it('marks every disk that holds data Unavailable with the matching reason, and changes none of their bytes', async function () {
    for (const p of unsafe) {
      const d = await waitForState(c, loopDiskName(nodeName, p.file), 'Unavailable', 10_000, p.reason, node);
      assert.equal(d.spec.devicePath, p.device);
    }
    const { stdout } = await controlPlaneKubectlWide(nodeName);
    for (const p of unsafe) assert.match(stdout, new RegExp(`${p.device}\\b.*Unavailable.*${escape(p.reason)}`), `kubectl shows ${p.device}`);
    for (const p of unsafe) assert.equal(await sha256File(p.file), p.sha, `${path.basename(p.file)} must be unchanged`);
  });

  it('goes Offline within 2 s of a detach and comes back as the same LocalDisk under a new device name', async function () {
    const name = loopDiskName(nodeName, blankFile);
    await waitForState(c, name, 'Available', 10_000, undefined, node);
    const started = Date.now();
    await loops.detach(blankDevice);
    await waitForState(c, name, 'Offline', 2_000, undefined, node);
    const offlineMs = Date.now() - started;
    assert.ok(offlineMs < 2_000, `Offline after ${offlineMs} ms`);
    const again = await attachNew(loops, blankFile);
    await setRotational(again, false);
    const d = await waitForState(c, name, 'Available', 2_000, undefined, node);
    assert.equal(d.spec.devicePath, again);
    blankDevice = again;
    const mine = (await listDisks(c, nodeName)).filter((x) => x.spec.identity?.serial === blankFile);
    assert.equal(mine.length, 1, 'one LocalDisk for the file, never two');
  });

  it('follows claimRef and reserved set by others within a second', async function () {
    const name = loopDiskName(nodeName, blankFile);
    await waitForState(c, name, 'Available', 5_000, undefined, node);
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { claimRef: { name: 'claim-a', uid: 'uid-a' }, owner: 'local-storage' } });
    await waitForState(c, name, 'Claimed', 1_000, undefined, node);
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { claimRef: null, owner: null } });
    await waitForState(c, name, 'Available', 1_000, undefined, node);
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { reserved: true } });
    await waitForState(c, name, 'Unavailable', 1_000, 'is reserved by an administrator', node);
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { reserved: false } });
    await waitForState(c, name, 'Available', 1_000, undefined, node);
  });

  it('never downgrades InUse (set by Local Storage) when the disk is re-read', async function () {
    const name = loopDiskName(nodeName, blankFile);
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { claimRef: { name: 'claim-b', uid: 'uid-b' }, owner: 'local-storage' } });
    await waitForState(c, name, 'Claimed', 1_000, undefined, node);
    await patchStatus(c, loamResources.localDisks, { name }, { state: 'InUse' }, { fieldManager: 'test-local-storage' });
    // A uevent makes loam-node probe the disk and reconcile it again.
    await writeFile(`/sys/block/${blankDevice.replace('/dev/', '')}/uevent`, 'change');
    await new Promise((r) => setTimeout(r, 700));
    const d = await waitForState(c, name, 'InUse', 1_000, undefined, node);
    assert.equal(d.status?.reason, undefined);
    await patchStatus(c, loamResources.localDisks, { name }, { state: 'Claimed' }, { fieldManager: 'test-local-storage' });
    await mergePatch(c, loamResources.localDisks, { name }, { spec: { claimRef: null, owner: null } });
    await waitForState(c, name, 'Available', 1_000, undefined, node);
  });

  it('keeps the LocalDiskNode summary current', async function () {
    const ldn = await waitUntil('LocalDiskNode with the test disks', async () => {
      const n = await getDiskNode(c, nodeName);
      return n?.status?.disks && (n.status.disks.unavailable ?? 0) >= unsafe.length && (n.status.disks.available ?? 0) >= 2 ? n : undefined;
    }, 10_000, () => node!.tail());
    assert.equal(ldn.spec.nodeName, nodeName);
    // Other tests on the host make loop devices too (loam-node --include-loop sees them), so compare until both agree.
    await waitUntil('LocalDiskNode total to equal the number of LocalDisks', async () =>
      (await getDiskNode(c, nodeName))?.status?.disks?.total === (await listDisks(c, nodeName)).length, 10_000);
    const ssd = ldn.status?.capacity?.find((x) => x.mediaClass === 'SSD');
    assert.ok(ssd && (ssd.availableBytes ?? 0) >= (64 + 96) * MiB, `SSD capacity ${JSON.stringify(ssd)}`);
    const beat = Date.parse(ldn.status!.lastHeartbeatTime!);
    await waitUntil('a newer heartbeat', async () => Date.parse((await getDiskNode(c, nodeName))?.status?.lastHeartbeatTime ?? '') > beat, 5_000);
  });

  it('exits 0 on SIGTERM', async function () {
    const code = await node!.stop('SIGTERM');
    assert.equal(code, 0, node!.tail());
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function controlPlaneKubectlWide(nodeName: string): Promise<{ stdout: string }> {
  const { controlPlane } = await import('../setup.js');
  const r = await controlPlane().kubectl(['get', 'localdisks', '-o', 'wide', '-l', `loam.io/node=${nodeName}`]);
  return { stdout: r.stdout };
}
