/**
 * Reservations are held per claim, not per caller-chosen pod UID, and the table is bounded: filter
 * calls made up by anyone who can reach the extender cannot hold a real claim's bytes many times over
 * or grow the process without limit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { filterNodes } from '../../../src/scheduler-plugin/filter.js';
import { Reservations } from '../../../src/scheduler-plugin/reservations.js';
import { Gi, MapView, podWith } from './fixture.js';

function withUid(pod: V1Pod, uid: string): V1Pod {
  return { ...pod, metadata: { ...pod.metadata, uid } };
}

describe('extender reservations: keyed by claim, bounded', () => {
  let view: MapView;
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
    view = new MapView()
      .addClass('loam-ssd', 'SSD')
      .addNode('n1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }])
      .addNode('n2', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }]);
  });

  it('1,000 filter calls with random pod UIDs for a real claim hold its bytes once, and the real pod still passes', () => {
    const reservations = new Reservations(60_000, () => clock);
    view.addClaim('default', 'data', 'loam-ssd', '5Gi');
    for (let i = 0; i < 1000; i++) filterNodes(withUid(podWith('fake', ['data']), randomUUID()), ['n1', 'n2'], view, reservations);
    assert.equal(reservations.size, 1, 'one reservation: the claim\'s');
    assert.equal(reservations.reservedBytes('n1', 'SSD', view), 5 * Gi, 'the claim\'s bytes, counted once');
    const real = filterNodes(podWith('app', ['data']), ['n1', 'n2'], view, reservations);
    assert.deepEqual(real.NodeNames, ['n1', 'n2']);
  });

  it('a claim deleted and created again under the same name is a new claim: the old reservation does not count for it', () => {
    const reservations = new Reservations(60_000, () => clock);
    const first = view.addClaim('default', 'data', 'loam-ssd', '5Gi');
    filterNodes(podWith('a', ['data']), ['n1'], view, reservations);
    view.addClaim('default', 'data', 'loam-ssd', '5Gi').metadata!.uid = `${first.metadata!.uid}-again`;
    view.addClaim('default', 'other', 'loam-ssd', '5Gi');
    assert.deepEqual(filterNodes(podWith('b', ['other']), ['n1'], view, reservations).NodeNames, ['n1'], 'the reservation of the deleted claim is gone');
  });

  it('holds at most maxEntries reservations, evicting the oldest first, and counts evictions', () => {
    const reservations = new Reservations(60_000, () => clock, 3);
    for (let i = 0; i < 5; i++) {
      view.addClaim('default', `c${i}`, 'loam-ssd', '1Gi');
      filterNodes(podWith(`p${i}`, [`c${i}`]), ['n1'], view, reservations);
      clock += 1000;
    }
    assert.equal(reservations.size, 3);
    assert.equal(reservations.evicted, 2);
    // c0 and c1 were evicted: only c2..c4 (3Gi) still count on n1.
    assert.equal(reservations.reservedBytes('n1', 'SSD', view), 3 * Gi);
  });

  it('evicts expired reservations before live ones', () => {
    const reservations = new Reservations(10_000, () => clock, 2);
    view.addClaim('default', 'old', 'loam-ssd', '1Gi');
    view.addClaim('default', 'young', 'loam-ssd', '1Gi');
    view.addClaim('default', 'new', 'loam-ssd', '1Gi');
    filterNodes(podWith('p-old', ['old']), ['n1'], view, reservations);
    clock += 9_000;
    filterNodes(podWith('p-young', ['young']), ['n1'], view, reservations);
    clock += 2_000; // old has expired, young has not
    filterNodes(podWith('p-new', ['new']), ['n1'], view, reservations);
    assert.equal(reservations.size, 2);
    assert.equal(reservations.evicted, 0, 'an expired entry is dropped, not evicted');
    assert.equal(reservations.reservedBytes('n1', 'SSD', view), 2 * Gi);
  });
});
