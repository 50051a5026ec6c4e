import assert from 'node:assert/strict';
import type { LocalVolume, LocalVolumeReplica } from '../../../src/api/index.js';
import { abandonedReplicas, isNodeGone, newestHeartbeat, NodeAbsence } from '../../../src/localstorage/orphans.js';

const grace = 600_000;
const t0 = Date.parse('2026-11-23T12:00:00Z');

describe('node deletion policy', () => {
  it('never calls a node gone while its Node object exists, however old its heartbeat', () => {
    assert.equal(isNodeGone({ nodeExists: true, lastHeartbeatMs: t0 - 10 * grace }, t0, grace), false);
  });

  it('waits the grace period from when the Node was first seen missing', () => {
    const absence = new NodeAbsence();
    const since = absence.observe('n1', false, t0);
    assert.equal(isNodeGone({ nodeExists: false, missingSinceMs: since }, t0 + grace - 1, grace), false);
    assert.equal(isNodeGone({ nodeExists: false, missingSinceMs: absence.observe('n1', false, t0 + grace) }, t0 + grace, grace), true, 'the first sighting is kept');
  });

  it('does not punish an agent that reports before its kubelet registers the Node: a fresh heartbeat keeps it', () => {
    assert.equal(isNodeGone({ nodeExists: false, missingSinceMs: t0 - 2 * grace, lastHeartbeatMs: t0 - 1000 }, t0, grace), false);
    assert.equal(isNodeGone({ nodeExists: false, missingSinceMs: t0 - 2 * grace, lastHeartbeatMs: t0 - grace }, t0, grace), true);
  });

  it('starts counting again when the Node comes back', () => {
    const absence = new NodeAbsence();
    absence.observe('n1', false, t0);
    assert.equal(absence.observe('n1', true, t0 + 1), undefined);
    assert.equal(absence.observe('n1', false, t0 + grace), t0 + grace);
  });

  it('forgets a node no object names any more, so a later comeback starts a fresh count', () => {
    const absence = new NodeAbsence();
    absence.observe('n1', false, t0);
    absence.retain(new Set(['n2']));
    assert.equal(absence.observe('n1', false, t0 + grace), t0 + grace);
  });

  it('reads the newest of the agents\' heartbeats', () => {
    assert.equal(newestHeartbeat('2026-11-23T11:00:00Z', undefined, '2026-11-23T11:30:00Z', 'garbage'), Date.parse('2026-11-23T11:30:00Z'));
    assert.equal(newestHeartbeat(undefined), undefined);
  });

  it('lets go of replicas no agent will finish (being deleted, or their volume gone or deleting), and keeps those of live volumes', () => {
    const r = (name: string, volume: string, deleting = false, finalizers = ['loam.io/protect']): LocalVolumeReplica => ({
      apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica',
      metadata: { name, finalizers, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
      spec: { volumeName: volume, nodeName: 'gone', poolName: 'loam-ssd', capacityBytes: 1 },
    });
    const volumes: Record<string, LocalVolume> = {
      live: { metadata: { name: 'live' } } as LocalVolume,
      dying: { metadata: { name: 'dying', deletionTimestamp: new Date() } } as LocalVolume,
    };
    const replicas = [r('a', 'live'), r('b', 'dying'), r('c', 'missing'), r('d', 'live', true), r('e', 'live', true, [])];
    assert.deepEqual(abandonedReplicas(replicas, (n) => volumes[n]).map((x) => x.metadata.name), ['b', 'c', 'd']);
  });
});
