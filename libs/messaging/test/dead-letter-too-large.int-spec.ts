import { DeadLetterHeaders } from '@lib/messaging';
import { createTestDatabase, eventually, orderCreated, sendWithConsoleProducer, TopicRecorder } from '@lib/testing';
import { createHash } from 'node:crypto';
import { BROKERS, createRunTopics, deadLettersOf, TestDb, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

/**
 * A message the consumer must dead-letter can be larger than the dead-letter
 * topic accepts: compressed it fitted its own topic, sent on as it is it does
 * not (MESSAGE_TOO_LARGE). Retrying cannot help, and waiting blocks the
 * partition for good; it is dead-lettered with its value replaced by a
 * marker that says what it was.
 */
describe('a dead letter too large to be written', () => {
  const run = testRun('toolarge');
  const topic = run.topic('order.created');
  let consumer: TestConsumer;
  let db: TestDb;
  let dlq: TopicRecorder;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix, 1);
    const database = await createTestDatabase('messaging_toolarge');
    cleanup.push(() => database.drop());
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    dlq = await TopicRecorder.start(['payment.dlq']);
    cleanup.unshift(() => dlq.stop());
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

  it('dead-letters a 2 MB gzip-compressed value that is not JSON with a marker in its place, and handles the valid event typed after it', async () => {
    const huge = `not json ${'0123456789abcdef'.repeat(128 * 1024)}`; // 2 MiB + 9 bytes, compresses to a few kB
    const next = orderCreated();
    await sendWithConsoleProducer(topic, [huge, JSON.stringify(next)], BROKERS, { compression: 'gzip', maxRequestBytes: 8 * 1024 * 1024 });

    const [letter] = await eventually(() => deadLettersOf(dlq.messages, run.group), {
      accept: (found) => found.length === 1,
      timeoutMs: 40_000,
      what: `the 2 MB value dead-lettered (consumer waiting for: ${consumer.transport.stats().waitingFor})`,
    });
    const h = letter.headers;
    expect(h[DeadLetterHeaders.ErrorKind]).toBe('not_json');
    expect(h[DeadLetterHeaders.OriginalTopic]).toBe(topic);
    expect(h[DeadLetterHeaders.OriginalPartition]).toBe('0');
    expect(h[DeadLetterHeaders.OriginalOffset]).toMatch(/^\d+$/);
    expect(h[DeadLetterHeaders.ValueReplaced]).toBe('too_large');
    expect(h[DeadLetterHeaders.OriginalSize]).toBe(String(Buffer.byteLength(huge)));
    expect(h[DeadLetterHeaders.OriginalSha256]).toBe(createHash('sha256').update(huge).digest('hex'));
    expect(JSON.parse(letter.value!.toString('utf8'))).toEqual({
      marker: 'dead-letter value replaced: too large for the dead-letter topic',
      originalSize: Buffer.byteLength(huge),
      sha256: h[DeadLetterHeaders.OriginalSha256],
    });

    await eventually(() => db.effectsOf(next.id), { accept: (rows) => rows.length === 1, timeoutMs: 30_000, what: 'the valid event after it handled' });
    expect(consumer.transport.stats().waitingFor).toBeNull();
  });
});
