import { EventEnvelope, encodeEvent, eventHeaders, eventKey, Topics } from '@lib/events';
import { kafkaBrokers } from '@lib/infra';
import { ConsumedMessage, DurableProducer, ensureTopics, KafkaConnectionOptions } from '@lib/kafka';
import { DeadLetterHeaders } from '@lib/messaging';
import { uniqueName } from '@lib/testing';
import { Pool } from 'pg';

export const BROKERS = kafkaBrokers();

export function connection(clientId: string): KafkaConnectionOptions {
  return { brokers: BROKERS, clientId };
}

/**
 * Names of one test run: a topic prefix (`test.messaging.<label>.<random>.`)
 * so the run has topics of its own, and a consumer group that marks its dead
 * letters in the shared `<app>.dlq` topics.
 */
export function testRun(label: string): { prefix: string; group: string; topic: (type: string) => string } {
  const name = uniqueName(`test-messaging-${label}`);
  const prefix = `${name.replace(/^test-messaging-/, 'test.messaging.')}.`;
  return { prefix, group: name, topic: (type) => `${prefix}${type}` };
}

/** Creates the run's topics (the ones the test consumer handles) before any consumer joins. */
export async function createRunTopics(prefix: string, partitions = 3): Promise<void> {
  await ensureTopics(
    connection('test-admin'),
    [Topics.OrderCreated, Topics.PaymentCompleted].map((t) => prefix + t),
    {
      partitions,
      replicationFactor: 1,
    },
  );
}

/** Publishes events as the apps' outbox relay does: key = order id, the event headers. */
export class TestPublisher {
  private readonly producer = new DurableProducer(connection(uniqueName('test-publisher')));

  /** Sends one event to `topic`; resolves with the partition it landed on. */
  async publish(topic: string, event: EventEnvelope): Promise<number> {
    const [result] = await this.producer.send([{ topic, key: eventKey(event), value: encodeEvent(event), headers: eventHeaders(event) }]);
    return result.partition;
  }

  async publishAll(topic: string, events: readonly EventEnvelope[]): Promise<void> {
    await this.producer.send(events.map((e) => ({ topic, key: eventKey(e), value: encodeEvent(e), headers: eventHeaders(e) })));
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Dead letters written by one consumer group (each test run has its own). */
export function deadLettersOf(messages: readonly ConsumedMessage[], group: string): ConsumedMessage[] {
  return messages.filter((m) => m.headers[DeadLetterHeaders.ConsumerGroup] === group);
}

/** Reads a test database directly (not through any proxy the consumer may be behind). */
export class TestDb {
  private readonly pool: Pool;

  constructor(url: string) {
    this.pool = new Pool({ connectionString: url, max: 2 });
    // pool.end() resolves before its clients' sockets are closed; the database
    // dropped right after (WITH FORCE) then errors them. Nothing to act on.
    this.pool.on('error', () => undefined);
  }

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  /** Committed effects of an event. */
  async effectsOf(eventId: string): Promise<{ event_id: string; order_id: string; attempt: number; follow_up: EventEnvelope; handled_at: Date }[]> {
    return this.rows(`SELECT event_id, order_id, attempt, follow_up, handled_at FROM test_effects WHERE event_id = $1 ORDER BY id`, [eventId]);
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const [row] = await this.rows<{ n: string }>(sql, params);
    return Number(row.n);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
