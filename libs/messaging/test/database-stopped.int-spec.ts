import { createDatabase } from '@infra';
import { eventually, PrivatePostgres, startPrivatePostgres, TopicRecorder } from '@lib/testing';
import { createRunTopics, deadLettersOf, orderCreated, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

const OUTAGE_MS = 20_000;

/**
 * PostgreSQL really stopped for 20 s: the consumer's database is a server of
 * this test's own (`pg_ctl stop`, then `pg_ctl start`), so the machine's
 * shared server is not touched.
 */
describe('KafkaEventsTransport while its PostgreSQL server is stopped', () => {
  const run = testRun('pgstop');
  const topic = run.topic('order.created');
  let server: PrivatePostgres;
  let consumer: TestConsumer;
  let db: TestDb;
  let dlq: TopicRecorder;
  let publisher: TestPublisher;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    server = await startPrivatePostgres('messaging-stop', 25433);
    cleanup.push(() => server.destroy());
    const url = server.url('consumer');
    await createDatabase(url);
    await migrateTestDatabase(url);
    db = new TestDb(url);
    cleanup.unshift(() => db.close());
    dlq = await TopicRecorder.start(['order.dlq']);
    cleanup.unshift(() => dlq.stop());
    consumer = await startTestConsumer({
      app: 'order',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl: url,
      maxAttempts: 3,
      retryBackoffMs: 200,
      maxRetryBackoffMs: 1000,
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

  it('dead-letters nothing, loses nothing, and handles every event once after the server was stopped for 20 s', async () => {
    const before = Array.from({ length: 6 }, () => orderCreated());
    await publisher.publishAll(topic, before);
    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), { accept: (n) => n === before.length, what: 'events before the outage handled' });

    await server.stop();
    const stoppedAt = Date.now();
    const during: ReturnType<typeof orderCreated>[] = [];
    const waitingSeen: string[] = [];
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      const batch = [orderCreated(), orderCreated(), orderCreated()];
      await publisher.publishAll(topic, batch);
      during.push(...batch);
      const { waitingFor } = consumer.transport.stats();
      if (waitingFor) waitingSeen.push(waitingFor);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(waitingSeen.length).toBeGreaterThan(0);
    await server.start();

    const all = [...before, ...during];
    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
      accept: (n) => n === all.length,
      timeoutMs: 60_000,
      what: `all ${all.length} events handled after the server came back`,
    });
    expect(await db.count(`SELECT count(*) AS n FROM test_effects`)).toBe(all.length);
    expect(await db.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1`, [run.group])).toBe(all.length);
    expect(consumer.transport.stats().counts[topic]).toMatchObject({ dead_lettered: 0, retried: 0 });
    await publisher.publish(topic, orderCreated());
    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), { accept: (n) => n === all.length + 1, what: 'event after the outage' });
    expect(deadLettersOf(dlq.messages, run.group)).toEqual([]);
  });
});
