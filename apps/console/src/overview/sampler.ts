import { AppName, Apps, EVENT_TOPICS } from '@lib/events';
import { KafkaProbe } from '@lib/kafka';
import { Logger } from '@nestjs/common';
import { DeadLetterStore } from '../dead-letters/dead-letter-store';
import { AppClient } from '../upstream/app-client';

/** A parked outbox row as the app's admin endpoint lists it. */
export interface ParkedRow {
  id: string;
  eventId: string;
  eventType: string;
  topic: string;
  key: string;
  attempts: number;
  lastError: string | null;
  parkedAt: string;
}

/** What the overview shows of one app at one moment. */
export interface AppSample {
  app: AppName;
  url: string;
  ready: boolean;
  /** Why it is not ready (failed checks, or that it does not answer). */
  why: string | null;
  /** Consumer lag per topic (summed over partitions), from the group's committed offsets. */
  lag: Record<string, number>;
  /** Messages handled per second since the previous sample (committed offsets moved). */
  eventsPerSecond: number;
  /** Null for an app without an outbox, or when it does not answer. */
  outbox: { pending: number; parked: number; oldestPendingAgeSeconds: number } | null;
  parked: ParkedRow[];
  deadLettersWaiting: number;
}

export interface Sample {
  at: number;
  apps: AppSample[];
  /** Kafka could not be read (lag unknown). */
  kafkaError: string | null;
}

/** One point of the chart: totals over the apps. */
export interface HistoryPoint {
  at: number;
  eventsPerSecond: number;
  lag: number;
}

/** Minutes of history kept for the chart. */
export const HISTORY_MINUTES = 5;

interface HealthBody {
  error?: Record<string, { message?: string; state?: string }>;
}

/**
 * Samples every app every `intervalMs`: health and why (its
 * `/health`: database, Kafka, consumer, outbox), outbox backlog and parked rows (its admin endpoints),
 * consumer lag and throughput (its group's offsets on Kafka, which also
 * tells how far a stopped app falls behind), dead letters waiting (the
 * console's database). Keeps the last minutes for the chart.
 */
export class Sampler {
  private readonly log = new Logger('Sampler');
  private timer: NodeJS.Timeout | undefined;
  private latest: Sample | null = null;
  private readonly history: HistoryPoint[] = [];
  private readonly committed = new Map<AppName, { at: number; sum: number }>();
  private running: Promise<void> | null = null;
  /** Topics each app's consumer subscribes to, as its /admin/consumer last said. */
  private readonly subscribed = new Map<AppName, Set<string>>();

  constructor(
    private readonly clients: Record<AppName, AppClient>,
    private readonly probe: KafkaProbe,
    private readonly store: DeadLetterStore,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.sample()
        .then(() => undefined)
        .catch((error: Error) => this.log.warn(`sampling failed: ${error.message}`))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.probe.close();
  }

  /** The latest sample (taking one first when there is none yet). */
  async current(): Promise<Sample> {
    return this.latest ?? (await this.sample());
  }

  points(): HistoryPoint[] {
    return [...this.history];
  }

  /** Samples now, out of turn (after an action, so the page shows its effect). */
  async sample(): Promise<Sample> {
    const at = Date.now();
    let kafkaError: string | null = null;
    const waiting = await this.store.waitingPerApp();
    const apps = await Promise.all(
      Apps.map(async (app): Promise<AppSample> => {
        const client = this.clients[app];
        const [health, outbox, consumer] = await Promise.all([
          client.get<HealthBody>('/health'), // everything with reasons; /health/ready is only the database
          client.get<{ enabled: boolean; pending: number; parked: number; oldestPendingAgeSeconds: number }>('/admin/outbox'),
          client.get<{ topics?: string[] }>('/admin/consumer'),
        ]);
        if (consumer.ok && consumer.status === 200 && Array.isArray(consumer.body.topics)) this.subscribed.set(app, new Set(consumer.body.topics));
        let lag: Record<string, number> = {};
        let eventsPerSecond = 0;
        try {
          // The group's topics: those it subscribes to (when the app answered once) and those it ever committed on (also while it is down).
          const known = this.subscribed.get(app);
          const offsets = await this.probe.groupOffsets(app, EVENT_TOPICS);
          const topics = new Set(offsets.filter((p) => known?.has(p.topic) || p.committed >= 0).map((p) => p.topic));
          lag = {};
          let sum = 0;
          for (const p of offsets.filter((o) => topics.has(o.topic))) {
            lag[p.topic] = (lag[p.topic] ?? 0) + p.lag;
            if (p.committed >= 0) sum += p.committed;
          }
          const before = this.committed.get(app);
          if (before && at > before.at) eventsPerSecond = Math.max(0, ((sum - before.sum) * 1000) / (at - before.at));
          this.committed.set(app, { at, sum });
        } catch (error) {
          kafkaError = (error as Error).message;
        }
        const outboxBody = outbox.ok && outbox.status === 200 && outbox.body.enabled ? outbox.body : null;
        let parked: ParkedRow[] = [];
        if (outboxBody && outboxBody.parked > 0) {
          const rows = await client.get<{ items: ParkedRow[] }>('/admin/outbox/parked');
          if (rows.ok && rows.status === 200) parked = rows.body.items;
        }
        return {
          app,
          url: client.endpoint.url,
          ready: health.ok && health.status === 200,
          why: !health.ok ? health.error : health.status === 200 ? null : whyNotReady(health.body, health.status),
          lag,
          eventsPerSecond,
          outbox: outboxBody && { pending: outboxBody.pending, parked: outboxBody.parked, oldestPendingAgeSeconds: outboxBody.oldestPendingAgeSeconds },
          parked,
          deadLettersWaiting: waiting[app],
        };
      }),
    );
    const sample: Sample = { at, apps, kafkaError };
    this.latest = sample;
    this.history.push({
      at,
      eventsPerSecond: apps.reduce((n, a) => n + a.eventsPerSecond, 0),
      lag: apps.reduce((n, a) => n + Object.values(a.lag).reduce((x, y) => x + y, 0), 0),
    });
    while (this.history.length > 0 && this.history[0].at < at - HISTORY_MINUTES * 60_000) this.history.shift();
    return sample;
  }
}

function whyNotReady(body: HealthBody | string, status: number): string {
  if (typeof body === 'object' && body?.error) {
    const failed = Object.entries(body.error).map(([check, detail]) => `${check}: ${detail.message ?? detail.state ?? 'down'}`);
    if (failed.length) return failed.join('; ');
  }
  return `/health answered ${status}`;
}
