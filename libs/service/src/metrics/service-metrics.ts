import { KafkaProbe } from '@lib/kafka';
import { ConsumeOutcome, ConsumerObserver, KafkaEventsTransport } from '@lib/messaging';
import { OutboxObserver, OutboxRelay } from '@lib/outbox';
import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SERVICE_DEFINITION, ServiceDefinition } from '../service-definition';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The app's Prometheus registry, served at `/metrics`; every series carries
 * `app`. Counters and histograms are fed as things happen: the consumer and
 * the outbox relay report to it as observers, the HTTP middleware times
 * requests. Apps add their own series (e.g. the payment breaker) to `registry`.
 */
@Injectable()
export class ServiceMetrics implements ConsumerObserver, OutboxObserver {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly outboxPublished = new Counter({ name: 'outbox_published_total', help: 'Outbox events acknowledged by Kafka', registers: [this.registry] });
  readonly outboxParked = new Counter({
    name: 'outbox_parked_total',
    help: 'Outbox events parked after repeated publish failures',
    registers: [this.registry],
  });
  readonly outboxDeposedLeaderRows = new Counter({
    name: 'outbox_deposed_leader_rows_total',
    help: 'Outbox events this instance published after its relay had lost its lease (fenced; the new leader publishes them again: duplicates)',
    registers: [this.registry],
  });
  readonly outboxUnmarkedRows = new Counter({
    name: 'outbox_unmarked_rows_total',
    help: 'Outbox events Kafka acknowledged that the relay could not mark published (its database failed after the send); they are published again: duplicates',
    registers: [this.registry],
  });
  readonly outboxPublishLatency = new Histogram({
    name: 'outbox_publish_latency_seconds',
    help: 'Outbox row insert to broker acknowledgement',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly consumed = new Counter({
    name: 'consumer_messages_total',
    help: 'Consumed messages by topic and outcome (handled, duplicate, retried, dead_lettered)',
    labelNames: ['topic', 'outcome'],
    registers: [this.registry],
  });
  readonly handleDuration = new Histogram({
    name: 'consumer_handle_duration_seconds',
    help: 'Time from a message taken to its handler transaction committed',
    labelNames: ['topic'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(@Inject(SERVICE_DEFINITION) definition: ServiceDefinition) {
    this.registry.setDefaultLabels({ app: definition.app });
    collectDefaultMetrics({ register: this.registry });
  }

  onOutcome(topic: string, outcome: ConsumeOutcome, durationMs?: number): void {
    this.consumed.inc({ topic, outcome });
    if (durationMs !== undefined) this.handleDuration.observe({ topic }, durationMs / 1000);
  }

  onPublished(latenciesMs: readonly number[]): void {
    this.outboxPublished.inc(latenciesMs.length);
    for (const ms of latenciesMs) this.outboxPublishLatency.observe(ms / 1000);
  }

  onParked(): void {
    this.outboxParked.inc();
  }

  onDeposedLeaderRows(rows: number): void {
    this.outboxDeposedLeaderRows.inc(rows);
  }

  onUnmarkedRows(rows: number): void {
    this.outboxUnmarkedRows.inc(rows);
  }
}

/**
 * Gauges that cost a query — outbox backlog and age, consumer lag — read
 * when Prometheus scrapes rather than kept up to date.
 */
@Injectable()
export class ScrapedMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: ServiceMetrics,
    @Inject(SERVICE_DEFINITION) private readonly definition: ServiceDefinition,
    private readonly probe: KafkaProbe,
    @Optional() private readonly transport?: KafkaEventsTransport,
    @Optional() private readonly relay?: OutboxRelay,
  ) {}

  onModuleInit(): void {
    const registry = this.metrics.registry;
    const definition = this.definition;
    const relay = this.relay;
    if (relay) {
      // The three gauges come from one query per scrape.
      const backlog = sharedFor(1000, () => relay.backlog().catch(() => null));
      new Gauge({
        name: 'outbox_backlog_events',
        help: 'Outbox events not yet published (parked ones excluded)',
        registers: [registry],
        async collect() {
          const b = await backlog();
          if (b) this.set(b.pending);
        },
      });
      new Gauge({
        name: 'outbox_parked_events',
        help: 'Outbox events parked after repeated publish failures and not yet released (npm run outbox -- release)',
        registers: [registry],
        async collect() {
          const b = await backlog();
          if (b) this.set(b.parked);
        },
      });
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished outbox event',
        registers: [registry],
        async collect() {
          const b = await backlog();
          if (b) this.set(b.oldestPendingAgeSeconds);
        },
      });
    }
    const transport = this.transport;
    const probe = this.probe;
    if (transport) {
      new Gauge({
        name: 'consumer_stuck_partitions',
        help: 'Partitions whose current message has made no progress for longer than CONSUMER_STUCK_PARTITION_SECONDS (1 per stuck partition)',
        labelNames: ['topic', 'partition'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of transport.stats().stuckPartitions) this.set({ topic: p.topic, partition: String(p.partition) }, 1);
        },
      });
      new Counter({
        name: 'consumer_restarts_total',
        help: 'Restarts of the consumer after a crash: by="runtime" for crashes kafkajs does not recover from (what CONSUMER_RESTART_MAX counts), by="kafkajs" for those it restarts itself',
        labelNames: ['by'],
        registers: [registry],
        collect() {
          const { restarts, kafkajsRestarts } = transport.stats();
          this.reset();
          this.inc({ by: 'runtime' }, restarts);
          this.inc({ by: 'kafkajs' }, kafkajsRestarts);
        },
      });
      new Gauge({
        name: 'consumer_lag',
        help: "Messages not yet consumed by this app's group, per partition",
        labelNames: ['topic', 'partition'],
        registers: [registry],
        async collect() {
          const topics = transport.topics();
          if (topics.length === 0) return;
          const lags = await probe.lag(definition.app, topics).catch(() => []);
          this.reset();
          for (const { topic, partition, lag } of lags) this.set({ topic, partition: String(partition) }, lag);
        },
      });
    }
  }
}

/** Calls `fn` at most once per `ms`; callers in between share its promise. */
function sharedFor<T>(ms: number, fn: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (!last || Date.now() - last.at > ms) last = { at: Date.now(), value: fn() };
    return last.value;
  };
}
