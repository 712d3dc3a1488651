import { createTestDatabase, TopicRecorder } from '@lib/testing';
import { createRunTopics, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { expectDatabaseOutageSurvived } from './support/outage-scenario';
import { TcpProxy } from './support/tcp-proxy';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

const OUTAGE_MS = 20_000;

/**
 * PostgreSQL "stopped" for 20 s — as the consumer sees it: the machine's
 * PostgreSQL is shared with other suites, so the consumer reaches it through
 * a TCP proxy, and the proxy is cut (open connections reset, new ones
 * refused, exactly what a stopped server does to its clients) and restored.
 */
describe('KafkaEventsTransport while PostgreSQL is down', () => {
  const run = testRun('outage');
  const topic = run.topic('order.created');
  let consumer: TestConsumer;
  let db: TestDb;
  let proxy: TcpProxy;
  let dlq: TopicRecorder;
  let publisher: TestPublisher;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    const database = await createTestDatabase('messaging_outage');
    cleanup.push(() => database.drop());
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    const target = new URL(database.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    cleanup.unshift(() => proxy.stop());
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);

    dlq = await TopicRecorder.start(['order.dlq']);
    cleanup.unshift(() => dlq.stop());
    consumer = await startTestConsumer({
      app: 'order',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl: viaProxy.toString(),
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

  it('dead-letters nothing, loses nothing, and handles every event once after a 20 s database outage (connections reset, new ones refused)', async () => {
    await expectDatabaseOutageSurvived({
      consumer,
      db,
      publisher,
      dlq,
      topic,
      group: run.group,
      interrupt: () => proxy.cut(),
      resume: () => proxy.restore(),
      outageMs: OUTAGE_MS,
      databaseReadableDuringOutage: true,
    });
  });
});
