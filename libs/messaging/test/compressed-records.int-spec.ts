import { createTestDatabase, eventually, orderCreated, sendWithConsoleProducer } from '@lib/testing';
import { BROKERS, createRunTopics, TestDb, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

/**
 * Records compressed with any codec Kafka offers are read. (The runner's own
 * restart of a crashed consumer and its 'failed' state are not proven yet: the
 * first tests of them saw kafkajs restart the consumer itself; issue 11.)
 */
describe('a compressed record no longer kills the consumer for good', () => {
  const run = testRun('codecs');
  const topic = run.topic('order.created');
  let consumer: TestConsumer;
  let db: TestDb;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    const database = await createTestDatabase('messaging_codecs');
    cleanup.push(() => database.drop());
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    consumer = await startTestConsumer({
      app: 'payment',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl: database.url,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
    });
    cleanup.unshift(() => consumer.close());
  });

  afterAll(async () => {
    for (const step of cleanup) await step().catch((e: Error) => console.warn(`cleanup: ${e.message}`));
  });

  it.each(['snappy', 'lz4', 'zstd', 'gzip'] as const)('handles an event sent by kafka-console-producer with --compression-codec %s', async (compression) => {
    const event = orderCreated();
    await sendWithConsoleProducer(topic, [JSON.stringify(event)], BROKERS, { compression });
    await eventually(() => db.effectsOf(event.id), {
      accept: (rows) => rows.length === 1,
      timeoutMs: 30_000,
      what: `the ${compression} event handled (consumer: ${JSON.stringify(consumer.transport.stats().state)})`,
    });
    expect(consumer.transport.stats().state).toBe('joined');
  });
});
