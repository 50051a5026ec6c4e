import assert from 'node:assert/strict';
import { controlPlane } from '../setup.js';
import { createKubeClients } from '../../../src/kube/client.js';
import { LeaderElector, type LeaderElectionOptions } from '../../../src/kube/leader.js';
import { createNamespace, deleteNamespace, eventually, restoreApiServer } from './helpers.js';

/** Short timings so the tests are quick: lease 3 s, renew deadline 2 s, retry 0.5 s. */
const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

interface Candidate {
  elector: LeaderElector;
  stop: AbortController;
  run: Promise<void>;
  started: number[];
  stopped: number[];
  /** The AbortSignal each term of leadership got. */
  signals: AbortSignal[];
}

function candidate(namespace: string, lease: string, identity: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const c = { stop: new AbortController(), started: [] as number[], stopped: [] as number[], signals: [] as AbortSignal[] } as Candidate;
  c.elector = new LeaderElector(createKubeClients(controlPlane().kubeConfig()), {
    namespace,
    name: lease,
    identity,
    ...timings,
    onStartedLeading: (signal) => {
      c.started.push(performance.now());
      c.signals.push(signal);
    },
    onStoppedLeading: () => c.stopped.push(performance.now()),
    ...extra,
  });
  c.run = c.elector.run(c.stop.signal);
  return c;
}

describe('kube leader election (real API server)', function () {
  this.timeout(60_000);
  let namespace: string;
  const candidates: Candidate[] = [];

  before(async () => {
    namespace = await createNamespace('kube-leader');
  });

  afterEach(async () => {
    for (const c of candidates.splice(0)) c.stop.abort();
  });

  after(async () => {
    await deleteNamespace(namespace);
  });

  it('elects exactly one of two; when the leader releases, the other takes over at once', async () => {
    const a = candidate(namespace, 'release', 'a');
    const b = candidate(namespace, 'release', 'b');
    candidates.push(a, b);
    await eventually('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 5000);
    // Several retry periods later there is still exactly one.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(Number(a.elector.isLeader()) + Number(b.elector.isLeader()), 1);
    assert.equal(a.started.length + b.started.length, 1);
    const [leader, other] = a.elector.isLeader() ? [a, b] : [b, a];
    assert.equal(other.elector.leader, leader === a ? 'a' : 'b');

    const stoppedAt = performance.now();
    leader.stop.abort();
    await leader.run;
    assert.ok(leader.signals[0]!.aborted, 'the old leader work was told to stop');
    assert.equal(leader.stopped.length, 1);
    await eventually('the other to take over', () => other.elector.isLeader(), timings.leaseDurationMs);
    // Released, so no wait for expiry: within about one retry period.
    assert.ok(other.started[0]! - stoppedAt < timings.leaseDurationMs, `took over after ${Math.round(other.started[0]! - stoppedAt)} ms`);
  });

  it('takes over a lease that stops being renewed, after the lease duration', async () => {
    const a = candidate(namespace, 'expire', 'a', { releaseOnStop: false });
    candidates.push(a);
    await eventually('a to lead', () => a.elector.isLeader(), 5000);
    const b = candidate(namespace, 'expire', 'b');
    candidates.push(b);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!b.elector.isLeader(), 'b waits while a renews');
    const stoppedAt = performance.now();
    a.stop.abort();
    await a.run;
    await eventually('b to take over', () => b.elector.isLeader(), timings.leaseDurationMs + 2 * timings.retryPeriodMs + 1000);
    const after = b.started[0]! - stoppedAt;
    // b must have waited for the lease to expire by its own clock (it saw a's last renew up to 0.5 s earlier).
    assert.ok(after >= timings.leaseDurationMs - timings.retryPeriodMs - 100, `took over after ${Math.round(after)} ms`);
  });

  it('a leader that cannot renew (API server down) steps down and its work is aborted', async function () {
    this.timeout(90_000);
    const a = candidate(namespace, 'partition', 'a');
    candidates.push(a);
    await eventually('a to lead', () => a.elector.isLeader(), 5000);
    const cp = controlPlane();
    try {
      const stoppedAt = performance.now();
      await cp.stopApiServer();
      await eventually('a to step down', () => !a.elector.isLeader(), timings.renewDeadlineMs + 2 * timings.retryPeriodMs + 1000);
      const after = performance.now() - stoppedAt;
      assert.ok(a.signals[0]!.aborted, 'its work got the abort');
      assert.equal(a.stopped.length, 1);
      assert.ok(after < timings.leaseDurationMs + 1000, `stepped down after ${Math.round(after)} ms, before the lease expired for others`);
    } finally {
      await restoreApiServer();
    }
    // Once the server is back it campaigns again and wins the (expired) lease.
    await eventually('a to lead again', () => a.elector.isLeader(), 15_000);
    assert.equal(a.started.length, 2);
  });
});
