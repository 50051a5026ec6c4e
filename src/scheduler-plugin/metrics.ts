/** Prometheus metrics of the extender: request latency by verb, reservations held, and reservations evicted from a full table. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ExtenderMetrics {
  readonly registry = new Registry();
  readonly latency = new Histogram({
    name: 'loam_scheduler_extender_request_seconds',
    help: 'Time to answer a kube-scheduler extender request, by verb and outcome.',
    labelNames: ['verb', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly reservations = new Gauge({
    name: 'loam_scheduler_reservations',
    help: 'Claims not provisioned yet whose capacity the extender holds back for the pod that passed its filter.',
    registers: [this.registry],
  });
  readonly evictions = new Counter({
    name: 'loam_scheduler_reservations_evicted_total',
    help: 'Live reservations dropped because the table was full (--max-reservations).',
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
