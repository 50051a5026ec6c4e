import assert from 'node:assert/strict';
import { apiVersion, type DiskClaimDescription, type LocalDisk, type LocalDiskClaim, type LocalDiskState } from '../../../src/api/index.js';
import { claimMessage, describeWanted, matchClaim } from '../../../src/ldm/claim-match.js';

const Gi = 2 ** 30;

function disk(name: string, over: { path?: string; gi?: number; cls?: 'HDD' | 'SSD' | 'NVMe'; node?: string; state?: LocalDiskState; reason?: string; claimRef?: { name: string; uid: string }; reserved?: boolean; byId?: string } = {}): LocalDisk {
  return {
    apiVersion, kind: 'LocalDisk', metadata: { name, resourceVersion: '1' },
    spec: {
      nodeName: over.node ?? 'n1', devicePath: over.path ?? `/dev/${name}`, capacityBytes: (over.gi ?? 100) * Gi, mediaClass: over.cls ?? 'SSD',
      ...(over.byId ? { identity: { byIdPath: over.byId } } : {}),
      ...(over.reserved !== undefined ? { reserved: over.reserved } : {}),
      ...(over.claimRef ? { claimRef: over.claimRef } : {}),
    },
    status: { state: over.state ?? 'Available', ...(over.reason ? { reason: over.reason } : {}) },
  };
}

function claim(description: DiskClaimDescription, node = 'n1'): LocalDiskClaim {
  return { apiVersion, kind: 'LocalDiskClaim', metadata: { name: 'c1', uid: 'uid-c1' }, spec: { nodeName: node, owner: 'local-storage', description } };
}

const names = (ds: readonly LocalDisk[]): string[] => ds.map((d) => d.metadata.name!);
const reasons = (m: ReturnType<typeof matchClaim>): Record<string, string> => Object.fromEntries(m.rejected.map((r) => [r.disk.metadata.name!, r.reason]));

describe('claim matching (which disks a LocalDiskClaim gets, and why not the others)', () => {
  it('takes Available disks of the class asked for and says why each other disk was left', () => {
    const m = matchClaim(claim({ mediaClass: 'SSD' }), [
      disk('sdb'), disk('sdc', { cls: 'HDD' }), disk('sdd', { state: 'Unavailable', reason: 'HasFilesystem' }),
      disk('sde', { claimRef: { name: 'other', uid: 'u2' }, state: 'Claimed' }), disk('sdf', { reserved: true }), disk('sdg', { state: 'Offline', reason: 'NotPresent' }),
      disk('sdh', { node: 'n2' }),
    ]);
    assert.deepEqual(names(m.chosen), ['sdb']);
    assert.deepEqual(reasons(m), {
      sdc: 'is HDD, not SSD',
      sdd: 'is Unavailable: HasFilesystem',
      sde: 'is Claimed by claim other',
      sdf: 'is reserved by an admin (spec.reserved: true)',
      sdg: 'is Offline: NotPresent',
    }, 'disks of other nodes are not mentioned at all');
  });

  it('applies minimum and maximum capacity, naming the sizes', () => {
    const m = matchClaim(claim({ minCapacityBytes: 100 * Gi, maxCapacityBytes: 1024 * Gi }), [disk('sdb', { gi: 50 }), disk('sdc', { gi: 100 }), disk('sdd', { gi: 2048 })]);
    assert.deepEqual(names(m.chosen), ['sdc']);
    assert.deepEqual(reasons(m), { sdb: 'is 50Gi, below the minimum 100Gi', sdd: 'is 2Ti, above the maximum 1Ti' });
  });

  it('takes disks named by device path or by-id link only', () => {
    const m = matchClaim(claim({ devicePaths: ['/dev/sdc', '/dev/disk/by-id/wwn-0x1'] }), [disk('sdb'), disk('sdc'), disk('sdd', { byId: '/dev/disk/by-id/wwn-0x1' })]);
    assert.deepEqual(names(m.chosen), ['sdc', 'sdd']);
    assert.equal(reasons(m).sdb, 'is /dev/sdb, not one of /dev/sdc, /dev/disk/by-id/wwn-0x1');
  });

  it('stops at count, counting disks already bound, in device path order', () => {
    const c = claim({ count: 2 });
    const m = matchClaim(c, [disk('sdd'), disk('sdb', { claimRef: { name: 'c1', uid: 'uid-c1' }, state: 'Claimed' }), disk('sdc'), disk('sdaa')]);
    assert.deepEqual(names(m.bound), ['sdb']);
    assert.deepEqual(names(m.chosen), ['sdc'], 'sdc sorts before sdd and sdaa (natural order)');
    assert.equal(reasons(m).sdd, 'matches, but the claim asks for 2 disks and has enough');
    assert.ok(m.rejected.every((r) => r.countOnly));
  });

  it('does not inherit a disk bound to an earlier claim of the same name (another uid)', () => {
    const m = matchClaim(claim({}), [disk('sdb', { claimRef: { name: 'c1', uid: 'old-uid' }, state: 'Claimed' })]);
    assert.deepEqual(names(m.bound), []);
    assert.equal(reasons(m).sdb, 'is Claimed by claim c1');
  });

  it('a Bound claim without count takes no disk that appears later, and says so', () => {
    const c = claim({});
    const m = matchClaim(c, [disk('sdb', { claimRef: { name: 'c1', uid: 'uid-c1' }, state: 'Claimed' }), disk('sdc')], { closed: true });
    assert.deepEqual(names(m.chosen), []);
    assert.match(reasons(m).sdc!, /already Bound .*create another claim/);
  });

  it('writes a message that says what is missing and what to do', () => {
    const c = claim({ mediaClass: 'SSD', minCapacityBytes: 100 * Gi });
    const m = matchClaim(c, [disk('sdb', { gi: 50 }), disk('sdc', { claimRef: { name: 'other', uid: 'u2' }, state: 'Claimed' })]);
    assert.equal(describeWanted(c), 'SSD disk of at least 100Gi');
    assert.equal(claimMessage(c, 0, m.rejected, 2),
      'no Available SSD disk of at least 100Gi on node n1: sdb (/dev/sdb) is 50Gi, below the minimum 100Gi; sdc (/dev/sdc) is Claimed by claim other. '
      + 'Free or add a disk that matches, or relax spec.description; the claim is re-evaluated as disks appear');
    assert.match(claimMessage(claim({}, 'ghost'), 0, [], 0), /no LocalDisk of node ghost is known: check spec.nodeName \(is there a node ghost\?\) and that loam-node runs on it/);
    assert.equal(claimMessage(claim({ count: 3 }), 1, [], 1), '1 disk bound of 3 asked for; waiting for 2 more Available disk on node n1');
    assert.equal(claimMessage(claim({ count: 2 }), 2, m.rejected, 2), '2 disks bound');
  });
});

describe('claim message length', () => {
  it('stays short on a node with hundreds of disks, pointing at the events for the rest', () => {
    const c = claim({ mediaClass: 'NVMe' });
    const many = Array.from({ length: 300 }, (_, i) => disk(`sd${i}`, { cls: 'HDD' }));
    const m = matchClaim(c, many);
    const message = claimMessage(c, 0, m.rejected, many.length);
    assert.ok(message.length < 2000, `${message.length} characters`);
    assert.match(message, /; and \d+ more disks \(each has an event: kubectl describe ldc c1\)\. Free or add a disk/);
  });
});
