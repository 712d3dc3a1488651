import { createTestDatabase, eventually, orderCreated, TestDatabase, TopicRecorder } from '@lib/testing';
import { Client } from 'pg';
import { createRunTopics, deadLettersOf, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

const EVENTS = 20;

/**
 * A database that became unusable — here read-only, as after a failover to a
 * standby (SQLSTATE 25006) — is not the message's fault. The consumer must
 * wait for it, not spend the messages' attempts and dead-letter them.
 */
describe('KafkaEventsTransport while its database is switched read-only', () => {
  const run = testRun('readonly');
  const topic = run.topic('order.created');
  let database: TestDatabase;
  let consumer: TestConsumer;
  let db: TestDb;
  let dlq: TopicRecorder;
  let publisher: TestPublisher;
  const cleanup: (() => Promise<unknown>)[] = [];

  /** Runs SQL as the server's superuser on the maintenance database, not on the consumer's. */
  async function admin(sql: string): Promise<void> {
    const url = new URL(database.url);
    url.pathname = '/postgres';
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** Sets the database's default and ends its sessions, so that every new one gets the new default. */
  async function setReadOnly(on: boolean): Promise<void> {
    await admin(`ALTER DATABASE "${database.name}" SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database.name}' AND pid <> pg_backend_pid()`);
  }

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    database = await createTestDatabase('messaging_readonly');
    cleanup.push(() => database.drop());
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    dlq = await TopicRecorder.start(['order.dlq']);
    cleanup.unshift(() => dlq.stop());
    consumer = await startTestConsumer({
      app: 'order',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl: database.url,
      // Few, quick attempts: were the read-only error counted, the events would be dead-lettered within seconds.
      maxAttempts: 3,
      retryBackoffMs: 100,
      maxRetryBackoffMs: 500,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
    });
    cleanup.unshift(() => consumer.close());
    publisher = new TestPublisher();
    cleanup.unshift(() => publisher.close());
  });

  afterAll(async () => {
    for (const step of cleanup) await step().catch((e: Error) => console.warn(`cleanup: ${e.message}`));
  });

  it('dead-letters none of 20 events that arrive while the database is read-only, and handles all 20 once it is writable again', async () => {
    const warmUp = orderCreated();
    await publisher.publish(topic, warmUp);
    await eventually(() => db.effectsOf(warmUp.id), { accept: (rows) => rows.length === 1, what: 'an event handled before' });

    await setReadOnly(true);
    const events = Array.from({ length: EVENTS }, () => orderCreated());
    await publisher.publishAll(topic, events);
    // The handler ran and failed (nothing can be committed) ...
    await eventually(() => events.filter((e) => consumer.behaviour.calls.has(e.id)).length, { accept: (n) => n > 0, what: 'handler attempts while read-only' });
    // ... and the consumer says it waits for the database, as readiness reports it.
    const waitingFor = await eventually(() => consumer.transport.stats().waitingFor, {
      accept: (w) => w !== null,
      timeoutMs: 20_000,
      what: 'the consumer waiting for the read-only database',
    });
    expect(waitingFor).toMatch(/read-only/);
    expect(deadLettersOf(dlq.messages, run.group)).toEqual([]);

    await setReadOnly(false);
    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects WHERE event_id = ANY($1::uuid[])`, [events.map((e) => e.id)]), {
      accept: (n) => n === EVENTS,
      timeoutMs: 60_000,
      what: `all ${EVENTS} events handled once the database is writable`,
    });
    expect(await db.count(`SELECT count(*) AS n FROM test_effects`)).toBe(EVENTS + 1);
    expect(consumer.transport.stats().counts[topic]).toMatchObject({ dead_lettered: 0, retried: 0 });
    // One event after: handled, and by then a wrongly dead-lettered message would have shown up.
    const after = orderCreated();
    await publisher.publish(topic, after);
    await eventually(() => db.effectsOf(after.id), { accept: (rows) => rows.length === 1, what: 'the event after' });
    expect(deadLettersOf(dlq.messages, run.group)).toEqual([]);
  });
});
