import { fetchConsoleActions } from '@lib/dead-letters/console-state';
import { AppName, Apps, deadLetterTopic, EVENT_TOPICS } from '@lib/events/topics';
import { topicOffsetRanges } from '@lib/kafka/admin';
import type { KafkaConnectionOptions } from '@lib/kafka/kafka-config';
import { KafkaProbe } from '@lib/kafka/kafka-probe';
import { Client } from 'pg';

/** What waits to be done for one app: `null` where it could not be read, with the reason in `errors`. */
export interface AppBacklog {
  app: AppName;
  /** Lag of the app's consumer group per topic it has committed offsets on (high watermark minus committed offset, summed over partitions). */
  consumerLag: Record<string, number> | null;
  /** Records in `<app>.dlq` not yet replayed or discarded in the ops console (`handled: null` when the console did not answer). */
  deadLetters: { inTopic: number; handled: number | null; waiting: number } | null;
  /** Rows of the app's outbox: pending (not yet published) and parked (given up on, to release); null for an app without an outbox table. */
  outbox: { pending: number; parked: number } | null;
  errors: string[];
}

export interface AppBacklogOptions {
  kafka: KafkaConnectionOptions;
  /** Each app's database URL. */
  databaseUrls: Record<AppName, string>;
  /** The ops console, whose recorded actions mark dead letters handled (as `npm run dlq -- list` reads them). */
  consoleUrl: string;
  timeoutMs?: number;
}

/**
 * Per app: consumer lag (from the group's committed offsets and the
 * partitions' high watermarks, read with the admin API), dead letters
 * waiting, and the outbox backlog (from the app's own database). Reads only;
 * every part is read on its own, so one that fails leaves the others.
 */
export async function appBacklogs(options: AppBacklogOptions): Promise<AppBacklog[]> {
  return Promise.all(Apps.map((app) => appBacklog(app, options)));
}

async function appBacklog(app: AppName, options: AppBacklogOptions): Promise<AppBacklog> {
  const errors: string[] = [];
  const attempt = <T>(what: string, read: () => Promise<T>): Promise<T | null> =>
    read().catch((error: Error) => {
      errors.push(`${what}: ${error.message}`);
      return null;
    });
  const [consumerLag, deadLetters, outbox] = await Promise.all([
    attempt('consumer lag', () => consumerLagOf(app, options.kafka, options.timeoutMs ?? 5000)),
    attempt('dead letters', () => deadLettersOf(app, options, errors)),
    attempt('outbox', () => outboxOf(options.databaseUrls[app], options.timeoutMs ?? 5000)),
  ]);
  return { app, consumerLag, deadLetters, outbox, errors };
}

/** The group is named after the app; topics it never committed on (not subscribed, or not yet consumed) are left out. */
async function consumerLagOf(app: AppName, kafka: KafkaConnectionOptions, timeoutMs: number): Promise<Record<string, number>> {
  // A probe (one admin connection) per app: KafkaProbe connects lazily and is not meant for concurrent first calls.
  // check() first: it loads the cluster's metadata, without which kafkajs (retries off) finds no group coordinator ("No brokers in the broker pool").
  const probe = new KafkaProbe(kafka);
  const partitions = await probe
    .check(timeoutMs)
    .then(() => probe.groupOffsets(app, EVENT_TOPICS))
    .finally(() => probe.close());
  const consumed = new Set(partitions.filter((p) => p.committed >= 0).map((p) => p.topic));
  const lag: Record<string, number> = {};
  for (const p of partitions.filter((x) => consumed.has(x.topic))) lag[p.topic] = (lag[p.topic] ?? 0) + p.lag;
  return lag;
}

/** Letter ids are `<dlq topic>/<partition>@<offset>`; a handled letter counts only while it is still in the topic. */
async function deadLettersOf(app: AppName, options: AppBacklogOptions, errors: string[]): Promise<AppBacklog['deadLetters']> {
  const ranges = await topicOffsetRanges(options.kafka, deadLetterTopic(app));
  const inTopic = ranges.reduce((n, r) => n + (r.high - r.low), 0);
  if (inTopic === 0) return { inTopic, handled: 0, waiting: 0 };
  const actions = await fetchConsoleActions(options.consoleUrl, app, options.timeoutMs ?? 3000).catch((error: Error) => {
    errors.push(`which dead letters were handled is unknown: the console at ${options.consoleUrl} did not answer (${error.message})`);
    return null;
  });
  if (!actions) return { inTopic, handled: null, waiting: inTopic };
  let handled = 0;
  for (const id of actions.keys()) {
    const m = /\/(\d+)@(\d+)$/.exec(id);
    const range = m && ranges.find((r) => r.partition === Number(m[1]));
    if (range && Number(m[2]) >= range.low && Number(m[2]) < range.high) handled += 1;
  }
  return { inTopic, handled, waiting: inTopic - handled };
}

/** The relay's backlog query (OutboxRelay.backlog): published rows are deleted, so what is left is pending or parked. */
async function outboxOf(url: string, timeoutMs: number): Promise<AppBacklog['outbox']> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows: table } = await client.query<{ exists: boolean }>(`SELECT to_regclass('outbox') IS NOT NULL AS exists`);
    if (!table[0].exists) return null;
    const { rows } = await client.query<{ pending: string; parked: string }>(
      `SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending, count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked FROM outbox`,
    );
    return { pending: Number(rows[0].pending), parked: Number(rows[0].parked) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
