/**
 * A claim the API server accepted but the binder's ajv validator refuses (a hand-edited object that
 * slipped past an older CRD) is reported and skipped. Today's CRD refuses everything ajv refuses, so
 * the reconciler runs in-process here against the real API server, reading a claim whose cached copy
 * was edited to be invalid; every write (status, events, disks) goes to the real server.
 */
import assert from 'node:assert/strict';
import type { LocalDisk, LocalDiskClaim } from '../../../src/api/index.js';
import winston from 'winston';
import { EventRecorder } from '../../../src/kube/index.js';
import { ClaimEvents } from '../../../src/ldm/claim-events.js';
import { ClaimReconciler } from '../../../src/ldm/claim-reconciler.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { cleanup, clients, createClaim, createDisk, eventsAbout, getClaim, getDisk, suffix } from './support.js';

describe('claim binder and invalid objects', function () {
  this.timeout(30_000);
  const run = suffix();
  const node = `invalid-${run}`;
  const claimName = `invalid-${run}`;
  const diskName = `${node}-sdb`;

  after(async () => {
    await cleanup(clients(), [claimName], [diskName]);
  });

  it('gives a claim that fails validation a status message and an event, and binds nothing for it', async () => {
    const c = clients();
    const disk = await createDisk(c, { name: diskName, node, path: '/dev/sdb', gi: 10, mediaClass: 'SSD' });
    const stored = await createClaim(c, claimName, node, { mediaClass: 'SSD' });
    const edited = { ...stored, spec: { ...stored.spec, description: { mediaClass: 'SSD', count: 0, colour: 'blue' } } } as unknown as LocalDiskClaim;
    const reconciler = new ClaimReconciler({
      clients: c,
      caches: { claim: () => edited, disksOfNode: () => [disk as LocalDisk], disksClaimedAs: () => [] },
      events: new ClaimEvents(new EventRecorder(c, { reportingController: 'loam.io/claim-binder', reportingInstance: `test-${run}` })),
      log: winston.createLogger({ silent: true }),
    });
    const result = await reconciler.reconcile(claimName, new AbortController().signal);
    assert.equal(result, undefined, 'skipped, not retried in a loop');
    const claim = await getClaim(c, claimName);
    assert.equal(claim?.status?.message, 'invalid claim, skipped until it is fixed: spec.description.colour: unknown field (check its spelling; see kubectl explain); spec.description.count: must be >= 1');
    assert.equal(claim?.status?.phase, 'Pending');
    assert.equal((await getDisk(c, diskName)).spec.claimRef, undefined);
    await waitFor('the InvalidClaim event', async () => (await eventsAbout(c, 'LocalDiskClaim', claimName)).some((e) => e.type === 'Warning' && e.reason === 'InvalidClaim'
      && e.note.includes('spec.description.count: must be >= 1')), 10_000);
  });
});
