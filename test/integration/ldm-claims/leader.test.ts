import assert from 'node:assert/strict';
import { waitFor } from '../../../tools/testenv/wait.js';
import { cleanup, clients, createClaim, createDisk, getClaim, startController, suffix, waitForClaim, type RunningController } from './support.js';

interface Lease { spec?: { holderIdentity?: string | null } }

describe('loam-controller leader election', function () {
  this.timeout(60_000);
  const run = suffix();
  const leaseName = `leader-${run}`;
  const claims: string[] = [];
  const disks: string[] = [];
  const running: RunningController[] = [];

  after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
    await cleanup(clients(), claims, disks);
  });

  it('the leader binds; when it stops on SIGTERM it exits 0, releases the Lease, and the other instance takes over', async () => {
    const c = clients();
    const node = `leader-${run}`;
    const [a, b] = ['a', 'b'].map((id) => startController(['--lease-name', leaseName, '--identity', `${id}-${run}`, '--log-level', 'warn']));
    running.push(a!, b!);
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/loam-system/leases/${leaseName}`;
    let holder = '';
    await waitFor('one instance to hold the Lease', async () => {
      holder = (await c.rest.request<Lease>('GET', leasePath)).spec?.holderIdentity ?? '';
      return holder !== '';
    }, 30_000);
    const [leader, follower] = holder === `a-${run}` ? [a!, b!] : [b!, a!];

    for (const dev of ['sdb', 'sdc']) {
      disks.push(`${node}-${dev}`);
      await createDisk(c, { name: `${node}-${dev}`, node, path: `/dev/${dev}`, gi: 10, mediaClass: 'SSD' });
    }
    claims.push(`first-${run}`);
    await createClaim(c, `first-${run}`, node, { count: 1 });
    await waitForClaim(c, `first-${run}`, 'Bound by the leader', (x) => x.status?.phase === 'Bound');

    leader.child.kill('SIGTERM');
    assert.equal(await leader.exited, 0, 'the leader exits 0 on SIGTERM');
    claims.push(`second-${run}`);
    await createClaim(c, `second-${run}`, node, { count: 1 });
    const second = await waitForClaim(c, `second-${run}`, 'Bound by the new leader', (x) => x.status?.phase === 'Bound', 20_000);
    assert.deepEqual(second.status?.boundDisks, [`${node}-sdc`]);
    const newHolder = (await c.rest.request<Lease>('GET', leasePath)).spec?.holderIdentity;
    assert.notEqual(newHolder, holder, 'the Lease moved to the other instance');
    assert.ok((await getClaim(c, `first-${run}`))?.status?.phase === 'Bound');
    follower.child.kill('SIGTERM');
    assert.equal(await follower.exited, 0);
  });

  it('with --leader-elect false binds at once without a Lease', async () => {
    const c = clients();
    const node = `solo-${run}`;
    const solo = startController(['--leader-elect', 'false', '--lease-name', `solo-${run}`, '--log-level', 'warn']);
    running.push(solo);
    disks.push(`${node}-sdb`);
    await createDisk(c, { name: `${node}-sdb`, node, path: '/dev/sdb', gi: 10, mediaClass: 'HDD' });
    claims.push(`solo-${run}`);
    await createClaim(c, `solo-${run}`, node, { mediaClass: 'HDD' });
    await waitForClaim(c, `solo-${run}`, 'Bound', (x) => x.status?.phase === 'Bound');
    await assert.rejects(c.rest.request('GET', `/apis/coordination.k8s.io/v1/namespaces/loam-system/leases/solo-${run}`), (err: { code?: number }) => err.code === 404);
    solo.child.kill('SIGTERM');
    assert.equal(await solo.exited, 0);
  });

  it('refuses a flag value it does not understand, saying what it expects', async () => {
    const bad = startController(['--leader-elect', 'maybe']);
    running.push(bad);
    assert.equal(await bad.exited, 1);
    assert.match(bad.stderr(), /--leader-elect must be true or false, got \\"maybe\\"/);
  });
});
