import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { LeaderElector } from '../../../src/kube/leader.js';
import { RestClient } from '../../../src/kube/rest.js';

describe('kube leader election options', () => {
  const rest = new RestClient(new KubeConfig());
  const base = { namespace: 'ns', name: 'lease', identity: 'me', onStartedLeading: () => undefined };

  it('refuses timings where a leader could act after its lease expired', () => {
    assert.throws(() => new LeaderElector({ rest }, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 3000, retryPeriodMs: 500 }), /retryPeriod < renewDeadline < leaseDuration/);
    assert.throws(() => new LeaderElector({ rest }, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 2000 }), /retryPeriod < renewDeadline < leaseDuration/);
    assert.doesNotThrow(() => new LeaderElector({ rest }, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 }));
    assert.doesNotThrow(() => new LeaderElector({ rest }, base), 'client-go defaults 15 s / 10 s / 2 s');
  });
});
