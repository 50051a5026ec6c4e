import assert from 'node:assert/strict';
import { apiVersion, type LocalDisk, type LocalDiskClaim } from '../../../src/api/index.js';
import type { EventInput, EventRecorder } from '../../../src/kube/index.js';
import { ClaimEvents } from '../../../src/ldm/claim-events.js';

const claim: LocalDiskClaim = { apiVersion, kind: 'LocalDiskClaim', metadata: { name: 'c1', uid: 'u1' }, spec: { nodeName: 'n1' } };
const disk = (name: string, gi: number): LocalDisk => ({
  apiVersion, kind: 'LocalDisk', metadata: { name }, spec: { nodeName: 'n1', devicePath: `/dev/${name}`, capacityBytes: gi * 2 ** 30, mediaClass: 'HDD' },
});

/** Records what would be sent (the recorder is the seam; its own behaviour is tested in test/unit/kube). */
function recorder(): { sent: EventInput[]; fake: EventRecorder } {
  const sent: EventInput[] = [];
  const fake = { record: async (_regarding: unknown, input: EventInput) => { sent.push(input); return 'e'; } } as unknown as EventRecorder;
  return { sent, fake };
}

describe('claim events', () => {
  it('sends one DiskNotChosen per disk, again only when its reason changes', async () => {
    const { sent, fake } = recorder();
    const events = new ClaimEvents(fake);
    const sdb = disk('sdb', 50);
    await events.notChosen(claim, [{ disk: sdb, reason: 'is HDD, not SSD', countOnly: false }]);
    await events.notChosen(claim, [{ disk: sdb, reason: 'is HDD, not SSD', countOnly: false }]);
    assert.deepEqual(sent.map((e) => e.note), ['disk sdb (/dev/sdb, 50Gi HDD) not chosen: it is HDD, not SSD']);
    await events.notChosen(claim, [{ disk: sdb, reason: 'is Claimed by claim other', countOnly: false }]);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.note, 'disk sdb (/dev/sdb, 50Gi HDD) not chosen: it is Claimed by claim other');
    assert.equal(sent[1]!.related, sdb);
  });

  it('reports a disk again after it was bound and let go, and forgets a deleted claim', async () => {
    const { sent, fake } = recorder();
    const events = new ClaimEvents(fake);
    const sdb = disk('sdb', 50);
    await events.notChosen(claim, [{ disk: sdb, reason: 'matches, but the claim asks for 1 disk and has enough', countOnly: true }]);
    await events.bound(claim, sdb, 'local-storage');
    await events.notChosen(claim, [{ disk: sdb, reason: 'matches, but the claim asks for 1 disk and has enough', countOnly: true }]);
    events.forget('u1');
    await events.notChosen(claim, [{ disk: sdb, reason: 'matches, but the claim asks for 1 disk and has enough', countOnly: true }]);
    assert.deepEqual(sent.map((e) => e.reason), ['DiskNotChosen', 'DiskBound', 'DiskNotChosen', 'DiskNotChosen']);
    assert.equal(sent[1]!.note, 'bound disk sdb (/dev/sdb, 50Gi HDD) for owner local-storage');
  });
});
