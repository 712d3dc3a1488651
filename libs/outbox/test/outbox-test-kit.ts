import { randomUUID } from 'node:crypto';
import { kafkaBrokers } from '@lib/infra';
import { ensureTopics, OutgoingMessage } from '@lib/kafka';
import { createTestDatabase, uniqueName } from '@lib/testing';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { CreateOutbox1732250000000, OutboxPublisher, OutboxRelayLease1732250000002, OutboxRelayLogger } from '../src';

/*
 * Helpers shared by the outbox integration suites. Every suite gets a database
 * of its own (so its relay sees only its own rows) and, where the rows are not
 * written by OutboxWriter, a topic of its own (so its recorder sees only its
 * own messages).
 */

export const MAIN_BROKERS = kafkaBrokers();

/** A throw-away database with the outbox migration applied through TypeORM, as the apps apply it. */
export interface OutboxDatabase {
  url: string;
  dataSource: DataSource;
  /** A plain connection for raw SQL (holding transactions open, reading the table). */
  sql(): Promise<Client>;
  drop(): Promise<void>;
}

export async function createOutboxDatabase(prefix: string): Promise<OutboxDatabase> {
  const db = await createTestDatabase(prefix);
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    migrations: [CreateOutbox1732250000000, OutboxRelayLease1732250000002],
    migrationsRun: true,
    poolSize: 10,
    logging: false,
  });
  await dataSource.initialize();
  const clients: Client[] = [];
  return {
    url: db.url,
    dataSource,
    async sql() {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      clients.push(client);
      return client;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await dataSource.destroy().catch(() => undefined);
      await db.drop();
    },
  };
}

/** A topic nobody else writes to, created up front (the broker does not auto-create topics). */
export async function createUniqueTopic(prefix: string, brokers = MAIN_BROKERS, partitions = 3): Promise<string> {
  const topic = uniqueName(`test.outbox.${prefix}`);
  await ensureTopics({ brokers, clientId: uniqueName('outbox-test-admin') }, [topic], { partitions, replicationFactor: 1 });
  return topic;
}

/** One outbox row as OutboxWriter writes it, but on a topic of the test's choosing. */
export interface TestRow {
  eventId: string;
  key: string;
  /** Position of this event within its key, in commit order. */
  seq: number;
  payload: string;
}

export function testRow(key: string, seq: number, padding = ''): TestRow {
  const eventId = randomUUID();
  return { eventId, key, seq, payload: JSON.stringify({ id: eventId, key, seq, padding }) };
}

/**
 * Inserts rows with the same columns OutboxWriter fills (one multi-row INSERT,
 * so one NOTIFY), in the caller's transaction when `client` has one open.
 * Returns the ids the rows got, in order.
 */
export async function insertRows(client: { query: Client['query'] }, topic: string, rows: readonly TestRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const values: unknown[] = [];
  const tuples = rows.map((row, i) => {
    const headers = JSON.stringify({ 'event-id': row.eventId, 'event-type': topic, 'event-version': '1', 'correlation-id': row.key });
    values.push(row.eventId, topic, row.key, row.payload, headers);
    const p = i * 5;
    return `($${p + 1}::uuid, $${p + 2}, $${p + 2}, $${p + 3}, $${p + 4}::json, $${p + 5}::jsonb)`;
  });
  const result = await client.query<{ id: string }>(
    `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, headers) VALUES ${tuples.join(', ')} RETURNING id`,
    values,
  );
  return result.rows.map((r) => r.id);
}

/** The decoded test payload of a consumed message. */
export function decodeRow(value: Buffer | null): { id: string; key: string; seq: number } {
  return JSON.parse(value?.toString('utf8') ?? 'null') as { id: string; key: string; seq: number };
}

/** Remembers when the broker acknowledged each message (by its `event-id` header), in ack order. */
export class AckLog implements OutboxPublisher {
  readonly acks: { eventId: string; at: number }[] = [];
  readonly markers: { label: string; afterAcks: number }[] = [];

  constructor(private readonly inner: OutboxPublisher) {}

  async send(messages: readonly OutgoingMessage[]): Promise<unknown> {
    const result = await this.inner.send(messages);
    const at = Date.now();
    for (const m of messages) this.acks.push({ eventId: m.headers?.['event-id'] ?? '', at });
    return result;
  }

  /** Puts a named marker between the acks seen so far and the next ones. */
  mark(label: string): void {
    this.markers.push({ label, afterAcks: this.acks.length });
  }

  /** Position of an event's first ack, -1 when never acknowledged. */
  position(eventId: string): number {
    return this.acks.findIndex((a) => a.eventId === eventId);
  }
}

/** A relay logger that keeps its lines for assertions and stays quiet. */
export class MemoryLogger implements OutboxRelayLogger {
  readonly lines: { level: 'log' | 'warn' | 'error'; message: string }[] = [];
  constructor(private readonly onError?: (message: string) => void) {}
  log(message: string): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
    this.onError?.(message);
  }
}

/** Counts per event id, and the ids seen more than once. */
export function countById(ids: readonly string[]): { distinct: number; duplicates: number } {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const id of ids) {
    if (seen.has(id)) duplicates++;
    else seen.add(id);
  }
  return { distinct: seen.size, duplicates };
}

/**
 * kafkajs logs every refused request and connection error through
 * console.error. In suites that cause them on purpose (a broker outage, an
 * oversized message) they drown the test report; everything else still shows.
 */
export function muteExpectedKafkaJsErrors(): void {
  let spy: jest.SpyInstance | undefined;
  beforeAll(() => {
    const original = console.error.bind(console);
    spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('{"level"') && args[0].includes('"logger":"kafkajs"')) return;
      original(...args);
    });
  });
  afterAll(() => spy?.mockRestore());
}
