import { createDatabase } from '@infra';
import { PrivatePostgres, startPrivatePostgres, TopicRecorder } from '@lib/testing';
import { createRunTopics, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { expectDatabaseOutageSurvived } from './support/outage-scenario';
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
    await expectDatabaseOutageSurvived({
      consumer,
      db,
      publisher,
      dlq,
      topic,
      group: run.group,
      interrupt: () => server.stop(),
      resume: () => server.start(),
      outageMs: OUTAGE_MS,
      databaseReadableDuringOutage: false,
    });
  });
});
