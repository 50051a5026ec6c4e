/** Prometheus metrics of the extender: request latency by verb, and reservations held. */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    help: 'Pods whose volumes are not created yet and whose capacity the extender holds back.',
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
