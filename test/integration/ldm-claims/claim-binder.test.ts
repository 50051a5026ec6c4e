import assert from 'node:assert/strict';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';
import {
  cleanup, clients, createClaim, createDisk, deleteClaim, eventsAbout, getClaim, getDisk, Gi, setDiskState, startController, stopController, suffix, waitForClaim, type RunningController,
} from './support.js';

describe('claim binder (loam-controller binding LocalDiskClaims on a real API server)', function () {
  this.timeout(60_000);
  let c: ReturnType<typeof clients>;
  const run = suffix();
  const claims: string[] = [];
  const disks: string[] = [];
  let controller: RunningController;

  const disk = async (node: string, dev: string, gi: number, mediaClass: 'HDD' | 'SSD', state: 'Available' | 'Unavailable' = 'Available', reason?: string): Promise<string> => {
    const name = `${node}-${dev}`;
    disks.push(name);
    await createDisk(c, { name, node, path: `/dev/${dev}`, gi, mediaClass, state, reason });
    return name;
  };
  const claim = async (name: string, node: string, description: Parameters<typeof createClaim>[3]): Promise<string> => {
    const full = `${name}-${run}`;
    claims.push(full);
    await createClaim(c, full, node, description);
    return full;
  };
  const boundTo = async (disk: string): Promise<string | undefined> => (await getDisk(c, disk)).spec.claimRef?.name;

  before(() => {
    c = clients();
    controller = startController(['--lease-name', `claims-${run}`]);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`loam-controller log tail:\n${controller.stderr().split('\n').slice(-30).join('\n')}`);
  });

  after(async () => {
    await cleanup(c, claims, disks);
    await stopController(controller);
  });

  it('binds by media class, and tells the user on the claim why each other disk was not taken', async () => {
    const node = `class-${run}`;
    const hdd = await disk(node, 'sdb', 500, 'HDD');
    const ssd = await disk(node, 'sdc', 100, 'SSD');
    const ext4 = await disk(node, 'sdd', 500, 'HDD', 'Unavailable', 'HasFilesystem');
    const name = await claim('by-class', node, { mediaClass: 'HDD' });
    const bound = await waitForClaim(c, name, 'Bound', (x) => x.status?.phase === 'Bound');
    assert.deepEqual(bound.status?.boundDisks, [hdd]);
    assert.equal(bound.status?.capacity, '500Gi');
    assert.equal(bound.status?.message, '1 disk bound');
    const waited = await controlPlane().kubectl(['wait', '--for=condition=Bound', `localdiskclaim/${name}`, '--timeout=10s']);
    assert.equal(waited.exitCode, 0, waited.stderr);
    assert.ok(bound.metadata.finalizers?.includes('loam.io/protect'));
    const d = await getDisk(c, hdd);
    assert.deepEqual(d.spec.claimRef, { name, uid: bound.metadata.uid });
    assert.equal(d.spec.owner, 'local-storage');
    assert.equal(await boundTo(ssd), undefined);
    assert.equal(await boundTo(ext4), undefined, 'a disk holding a filesystem is never claimed');
    await waitFor('a DiskNotChosen event per disk not taken', async () => (await eventsAbout(c, 'LocalDiskClaim', name)).filter((e) => e.reason === 'DiskNotChosen').length === 2, 10_000);
    const notes = (await eventsAbout(c, 'LocalDiskClaim', name)).filter((e) => e.reason === 'DiskNotChosen').map((e) => e.note).sort();
    assert.deepEqual(notes, [
      `disk ${ssd} (/dev/sdc, 100Gi SSD) not chosen: it is SSD, not HDD`,
      `disk ${ext4} (/dev/sdd, 500Gi HDD) not chosen: it is Unavailable: HasFilesystem`,
    ]);
    const bindEvents = (await eventsAbout(c, 'LocalDiskClaim', name)).filter((e) => e.reason === 'DiskBound');
    assert.deepEqual(bindEvents.map((e) => e.related), [hdd]);
    const table = await controlPlane().kubectl(['get', 'localdisks', hdd]);
    assert.match(table.stdout, new RegExp(`${hdd}\\s+${node}\\s+/dev/sdb\\s+HDD\\s+500Gi\\s+Available\\s+Unknown\\s+${name}`), 'kubectl get ld shows the claim in the CLAIM column');
  });

  it('binds by capacity range, by device path, and stops at count', async () => {
    const node = `sizes-${run}`;
    const small = await disk(node, 'sdb', 50, 'SSD');
    const mid = await disk(node, 'sdc', 120, 'SSD');
    const big = await disk(node, 'sdd', 2048, 'SSD');
    const bySize = await claim('by-size', node, { minCapacityBytes: 100 * Gi, maxCapacityBytes: 1024 * Gi });
    assert.deepEqual((await waitForClaim(c, bySize, 'Bound', (x) => x.status?.phase === 'Bound')).status?.boundDisks, [mid]);
    assert.equal(await boundTo(small), undefined);
    assert.equal(await boundTo(big), undefined);

    const byPath = await claim('by-path', node, { devicePaths: ['/dev/sdd'] });
    assert.deepEqual((await waitForClaim(c, byPath, 'Bound', (x) => x.status?.phase === 'Bound')).status?.boundDisks, [big]);

    const countNode = `count-${run}`;
    const a = await disk(countNode, 'sdb', 10, 'SSD');
    const b = await disk(countNode, 'sdc', 10, 'SSD');
    const third = await disk(countNode, 'sdd', 10, 'SSD');
    const byCount = await claim('by-count', countNode, { mediaClass: 'SSD', count: 2 });
    const counted = await waitForClaim(c, byCount, 'Bound with 2 disks', (x) => x.status?.boundDisks?.length === 2);
    assert.deepEqual(counted.status?.boundDisks, [a, b].sort());
    assert.equal(counted.status?.capacity, '20Gi');
    assert.equal(await boundTo(third), undefined);
    await waitFor('the count event', async () => (await eventsAbout(c, 'LocalDiskClaim', byCount)).some((e) => e.note === `disk ${third} (/dev/sdd, 10Gi SSD) not chosen: it matches, but the claim asks for 2 disks and has enough`), 10_000);
  });

  it('gives a disk to exactly one of two claims created at once; the other stays Pending, says why, and gets the disk when the winner is deleted', async () => {
    const node = `race-${run}`;
    const only = await disk(node, 'sdb', 100, 'SSD');
    const [first, second] = await Promise.all([claim('race-a', node, { mediaClass: 'SSD' }), claim('race-b', node, { mediaClass: 'SSD' })]);
    await waitFor('both claims reconciled', async () => {
      const phases = await Promise.all([first, second].map(async (n) => (await getClaim(c, n))?.status?.phase));
      return phases.includes('Bound') && phases.includes('Pending');
    }, 20_000);
    const winner = (await getClaim(c, first))!.status?.phase === 'Bound' ? first : second;
    const loser = winner === first ? second : first;
    assert.equal(await boundTo(only), winner);
    const pending = await waitForClaim(c, loser, 'explains the loss', (x) => (x.status?.message ?? '').includes(`is Claimed by claim ${winner}`));
    assert.deepEqual(pending.status?.boundDisks ?? [], []);
    assert.equal(pending.status?.message,
      `no Available SSD disk on node ${node}: ${only} (/dev/sdb) is Claimed by claim ${winner}. Free or add a disk that matches, or relax spec.description; the claim is re-evaluated as disks appear`);
    await waitFor('the loser\'s event naming the winner', async () => (await eventsAbout(c, 'LocalDiskClaim', loser)).some((e) => e.reason === 'DiskNotChosen' && e.note.endsWith(`it is Claimed by claim ${winner}`)), 10_000);

    await deleteClaim(c, winner);
    const later = await waitForClaim(c, loser, 'Bound once the winner released the disk', (x) => x.status?.phase === 'Bound');
    assert.deepEqual(later.status?.boundDisks, [only]);
    assert.equal(await boundTo(only), loser);
  });

  it('keeps a claim for an unknown node Pending with a message, and binds when a disk of that node appears', async () => {
    const node = `later-${run}`;
    const name = await claim('later', node, { mediaClass: 'HDD' });
    const pending = await waitForClaim(c, name, 'Pending', (x) => x.status?.phase === 'Pending');
    assert.equal(pending.status?.message, `no LocalDisk of node ${node} is known: check spec.nodeName (is there a node ${node}?) and that loam-node runs on it; the claim is re-evaluated as disks appear`);
    const ssd = await disk(node, 'sdb', 100, 'SSD');
    await waitForClaim(c, name, 'says the SSD does not match', (x) => x.status?.message?.includes(`${ssd} (/dev/sdb) is SSD, not HDD`) === true);
    const hdd = await disk(node, 'sdc', 100, 'HDD');
    const bound = await waitForClaim(c, name, 'Bound once an HDD appears', (x) => x.status?.phase === 'Bound');
    assert.deepEqual(bound.status?.boundDisks, [hdd]);
  });

  it('releases the disks of a deleted claim, except an InUse one, which stays bound with an event saying why', async () => {
    const node = `release-${run}`;
    const free = await disk(node, 'sdb', 100, 'SSD');
    const used = await disk(node, 'sdc', 100, 'SSD');
    const name = await claim('release', node, { mediaClass: 'SSD' });
    await waitForClaim(c, name, 'Bound with both disks', (x) => x.status?.boundDisks?.length === 2);
    await setDiskState(c, free, 'Claimed');
    await setDiskState(c, used, 'InUse');
    await deleteClaim(c, name);
    await waitFor('the claim to go (finalizer removed)', async () => (await getClaim(c, name)) === undefined, 20_000);
    const released = await getDisk(c, free);
    assert.equal(released.spec.claimRef, undefined);
    assert.equal(released.spec.owner, undefined);
    assert.equal((await getDisk(c, used)).spec.claimRef?.name, name, 'an InUse disk stays bound');
    const onDisk = await eventsAbout(c, 'LocalDisk', used);
    assert.ok(onDisk.some((e) => e.type === 'Warning' && e.reason === 'DiskInUse' && e.note.includes('move its volumes off and remove it from the pool to free it')), JSON.stringify(onDisk));
    const onClaim = await eventsAbout(c, 'LocalDiskClaim', name);
    assert.ok(onClaim.some((e) => e.reason === 'DiskReleased' && e.related === free), JSON.stringify(onClaim));
  });

  it('does not let a claim recreated under the same name inherit the old claim\'s disk: it is released and bound afresh', async () => {
    const node = `recreate-${run}`;
    const only = await disk(node, 'sdb', 100, 'SSD');
    const name = await claim('recreate', node, {});
    const first = await waitForClaim(c, name, 'Bound', (x) => x.status?.phase === 'Bound');
    // Delete behind the controller's back: drop the finalizer first, as a careless admin would.
    await c.rest.request('PATCH', `/apis/loam.io/v1alpha1/localdiskclaims/${name}`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    await deleteClaim(c, name);
    await waitFor('the claim to go', async () => (await getClaim(c, name)) === undefined, 10_000);
    await createClaim(c, name, node, {});
    const second = await waitForClaim(c, name, 'Bound again', (x) => x.status?.phase === 'Bound' && x.metadata.uid !== first.metadata.uid);
    assert.deepEqual((await getDisk(c, only)).spec.claimRef, { name, uid: second.metadata.uid });
  });
});
