import { DeadLetterAction, DeadLetterActionKind, DeadLetterRecord, DeadLetterState, deadLetterId, failedAtOf } from '@lib/dead-letters';
import { AppName, Apps } from '@lib/events';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** A dead letter as the console shows it: the record, its app, the order it mentions, and its state. */
export interface StoredDeadLetter {
  id: string;
  app: AppName;
  record: DeadLetterRecord;
  orderId: string | null;
  correlationId: string | null;
  state: DeadLetterState;
  action: DeadLetterAction | null;
}

/** What the dead-letters page filters on; every field optional. */
export interface DeadLetterQuery {
  app?: string;
  /** The original topic. */
  topic?: string;
  kind?: string;
  state?: DeadLetterState;
  since?: Date;
  until?: Date;
  /** An order id, event id or correlation id. */
  q?: string;
}

interface Row {
  id: string;
  app: AppName;
  topic: string;
  partition: number;
  offset: string;
  original_topic: string | null;
  consumer_group: string | null;
  error_kind: string | null;
  error_message: string | null;
  attempts: number | null;
  failed_at: Date;
  event_id: string | null;
  order_id: string | null;
  correlation_id: string | null;
  message_key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  action: DeadLetterActionKind | null;
  operator: string | null;
  note: string | null;
  at: Date | null;
}

const SELECT = `
  SELECT d.*, a.action, a.operator, a.note, a.at
    FROM dead_letters d
    LEFT JOIN LATERAL (SELECT action, operator, note, at FROM dead_letter_actions x WHERE x.letter_id = d.id ORDER BY x.id DESC LIMIT 1) a ON true`;

/** The app whose consumer wrote to a dead-letter topic (`payment.dlq` → payment). */
export function appOfTopic(topic: string): AppName | null {
  const app = topic.replace(/\.dlq$/, '');
  return (Apps as readonly string[]).includes(app) ? (app as AppName) : null;
}

/** The order a dead letter is about: `data.orderId` of its value, else its key. */
export function orderIdOf(record: DeadLetterRecord): string | null {
  try {
    const parsed = JSON.parse(record.value?.toString('utf8') ?? '') as { data?: { orderId?: unknown } };
    if (typeof parsed?.data?.orderId === 'string') return parsed.data.orderId;
  } catch {
    // not JSON: fall back to the key
  }
  return record.key ? record.key.toString('utf8') : null;
}

function correlationIdOf(record: DeadLetterRecord): string | null {
  if (record.headers['correlation-id']) return record.headers['correlation-id'];
  try {
    const parsed = JSON.parse(record.value?.toString('utf8') ?? '') as { correlationId?: unknown };
    return typeof parsed?.correlationId === 'string' ? parsed.correlationId : null;
  } catch {
    return null;
  }
}

/**
 * The console's database: the dead letters it read from Kafka (inserted once
 * each, by their place in the topic) and the operators' actions on them.
 */
@Injectable()
export class DeadLetterStore {
  constructor(private readonly db: DataSource) {}

  /** Keeps a dead letter read from Kafka; reading it again (a restart before the commit) changes nothing. */
  async add(record: DeadLetterRecord): Promise<void> {
    const app = appOfTopic(record.topic);
    if (!app) return;
    await this.db.query(
      `INSERT INTO dead_letters (id, app, topic, partition, "offset", original_topic, consumer_group, error_kind, error_message, attempts,
                                 failed_at, event_id, order_id, correlation_id, message_key, value, headers)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (id) DO NOTHING`,
      [
        deadLetterId(record),
        app,
        record.topic,
        record.partition,
        record.offset,
        record.originalTopic,
        record.consumerGroup,
        record.errorKind,
        record.errorMessage,
        record.attempts,
        failedAtOf(record),
        record.eventId,
        orderIdOf(record),
        correlationIdOf(record),
        record.key,
        record.value,
        JSON.stringify(record.headers),
      ],
    );
  }

  async get(id: string): Promise<StoredDeadLetter | null> {
    const rows = await this.db.query<Row[]>(`${SELECT} WHERE d.id = $1`, [id]);
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** One page of dead letters matching `query`, newest first, and how many match in all. */
  async find(query: DeadLetterQuery, page: { offset: number; limit: number }): Promise<{ items: StoredDeadLetter[]; total: number }> {
    const { where, params } = whereOf(query);
    const [{ n }] = await this.db.query<{ n: string }[]>(`SELECT count(*) AS n FROM (${SELECT}) s ${where}`, params);
    const rows = await this.db.query<Row[]>(
      `SELECT * FROM (${SELECT}) s ${where} ORDER BY failed_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, page.limit, page.offset],
    );
    return { items: rows.map(toStored), total: Number(n) };
  }

  /** Every dead letter matching `query` (for replay-all), oldest first. */
  async all(query: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    const { where, params } = whereOf(query);
    const rows = await this.db.query<Row[]>(`SELECT * FROM (${SELECT}) s ${where} ORDER BY failed_at, id`, params);
    return rows.map(toStored);
  }

  /** Dead letters waiting (neither replayed nor discarded), per app. */
  async waitingPerApp(): Promise<Record<AppName, number>> {
    const rows = await this.db.query<{ app: AppName; n: string }[]>(`SELECT app, count(*) AS n FROM (${SELECT}) s WHERE action IS NULL GROUP BY app`);
    const out = Object.fromEntries(Apps.map((app) => [app, 0])) as Record<AppName, number>;
    for (const r of rows) out[r.app] = Number(r.n);
    return out;
  }

  /** The distinct original topics and error kinds, for the filters' choices. */
  async facets(): Promise<{ topics: string[]; kinds: string[] }> {
    const topics = await this.db.query<{ v: string }[]>(`SELECT DISTINCT original_topic AS v FROM dead_letters WHERE original_topic IS NOT NULL ORDER BY 1`);
    const kinds = await this.db.query<{ v: string }[]>(`SELECT DISTINCT error_kind AS v FROM dead_letters WHERE error_kind IS NOT NULL ORDER BY 1`);
    return { topics: topics.map((r) => r.v), kinds: kinds.map((r) => r.v) };
  }

  /** Records an operator's action on dead letters, in one transaction. */
  async record(letterIds: readonly string[], action: DeadLetterActionKind, operator: string, note: string | null): Promise<void> {
    if (letterIds.length === 0) return;
    await this.db.query(`INSERT INTO dead_letter_actions (letter_id, action, operator, note) SELECT unnest($1::text[]), $2, $3, $4`, [
      letterIds,
      action,
      operator,
      note,
    ]);
  }

  /** The latest action on every dead letter of `app` that has one (what `npm run dlq -- list` shows). */
  async actions(app?: AppName): Promise<DeadLetterAction[]> {
    const rows = await this.db.query<Row[]>(`SELECT * FROM (${SELECT}) s WHERE action IS NOT NULL ${app ? 'AND app = $1' : ''} ORDER BY at`, app ? [app] : []);
    return rows.map((r) => toStored(r).action!);
  }

  /** Dead letters mentioning an order (its id, or a correlation id). */
  async mentioning(orderOrCorrelationId: string): Promise<StoredDeadLetter[]> {
    const rows = await this.db.query<Row[]>(`SELECT * FROM (${SELECT}) s WHERE order_id = $1 OR correlation_id = $1 ORDER BY failed_at`, [
      orderOrCorrelationId,
    ]);
    return rows.map(toStored);
  }
}

function whereOf(query: DeadLetterQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(sql(`$${params.length}`));
  };
  if (query.app) add((p) => `app = ${p}`, query.app);
  if (query.topic) add((p) => `original_topic = ${p}`, query.topic);
  if (query.kind) add((p) => `error_kind = ${p}`, query.kind);
  if (query.since) add((p) => `failed_at >= ${p}`, query.since);
  if (query.until) add((p) => `failed_at <= ${p}`, query.until);
  if (query.q) add((p) => `(order_id = ${p} OR event_id = ${p} OR correlation_id = ${p} OR id = ${p})`, query.q);
  if (query.state === 'waiting') clauses.push('action IS NULL');
  else if (query.state) add((p) => `action = ${p}`, query.state);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function toStored(r: Row): StoredDeadLetter {
  const record: DeadLetterRecord = {
    topic: r.topic,
    partition: r.partition,
    offset: String(r.offset),
    timestamp: String(r.failed_at.getTime()),
    key: r.message_key,
    value: r.value,
    headers: r.headers,
    originalTopic: r.original_topic,
    originalPartition: r.headers['dlq-original-partition'] !== undefined ? Number(r.headers['dlq-original-partition']) : null,
    originalOffset: r.headers['dlq-original-offset'] ?? null,
    consumerGroup: r.consumer_group,
    errorKind: r.error_kind,
    errorMessage: r.error_message,
    failedAt: r.headers['dlq-failed-at'] ?? null,
    attempts: r.attempts,
    eventId: r.event_id,
    replayedFrom: r.headers['dlq-replayed-from'] ?? null,
  };
  const action: DeadLetterAction | null = r.action
    ? { letterId: r.id, action: r.action, operator: r.operator ?? '?', note: r.note, at: (r.at ?? new Date(0)).toISOString() }
    : null;
  return { id: r.id, app: r.app, record, orderId: r.order_id, correlationId: r.correlation_id, state: action?.action ?? 'waiting', action };
}
