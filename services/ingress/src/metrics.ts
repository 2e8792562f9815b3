import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The ingress's Prometheus metrics, on a registry of its own (tests build many apps). */
export class IngressMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'governor_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'governor_http_rejections_total',
    help: 'Requests refused, by route and error code',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'governor_http_request_duration_seconds',
    help: 'Time to answer, by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly webhookReplays = new Counter({
    name: 'governor_webhook_replays_total',
    help: 'Webhook redeliveries answered from the first answer (nothing triggered)',
    registers: [this.registry],
  });
  readonly signalsAccepted = new Counter({
    name: 'governor_signals_accepted_total',
    help: 'Signals accepted over HTTP and published to a tenant topic',
    registers: [this.registry],
  });
  readonly safeMode = new Gauge({
    name: 'governor_safe_mode',
    help: '1 while the worker refuses actions because its store is unreachable',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
