import { EventEnvelope } from '@lib/events';
import { createTestDatabase, eventually, orderCreated, TopicRecorder } from '@lib/testing';
import { createRunTopics, deadLettersOf, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

/**
 * The batch mode of KafkaEventsTransport (`unitOfWork: 'batch'`, the apps'
 * CONSUMER_UNIT_OF_WORK=batch) on the real broker and database: a backlog is
 * handled in few transactions, every event once, and a failing event is
 * retried and dead-lettered alone while its neighbours commit.
 */
jest.setTimeout(120_000);

describe('KafkaEventsTransport in batch mode on the real broker and database', () => {
  const run = testRun('batch');
  const topic = run.topic('order.created');
  let db: TestDb;
  let databaseUrl: string;
  let consumer: TestConsumer | undefined;
  let publisher: TestPublisher;
  let dlq: TopicRecorder;
  const cleanup: (() => Promise<unknown>)[] = [];

  const start = async () => {
    consumer = await startTestConsumer({
      app: 'payment',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl,
      unitOfWork: 'batch',
      maxAttempts: 3,
      retryBackoffMs: 200,
      maxRetryBackoffMs: 400,
      partitionsConsumedConcurrently: 3,
    });
    cleanup.unshift(() => consumer!.close());
  };
  /** Transactions that inserted the consumer's inbox rows: rows written by one transaction share its xmin. */
  const inboxTransactions = () => db.count(`SELECT count(DISTINCT xmin::text) AS n FROM inbox WHERE consumer = $1`, [run.group]);

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    const database = await createTestDatabase('messaging_batch');
    databaseUrl = database.url;
    cleanup.push(() => database.drop());
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    publisher = new TestPublisher();
    cleanup.unshift(() => publisher.close());
    dlq = await TopicRecorder.start(['payment.dlq']);
    cleanup.unshift(() => dlq.stop());
  });

  afterAll(async () => {
    for (const step of cleanup) await step().catch((e: Error) => console.warn(`cleanup: ${e.message}`));
  });

  it('handles a backlog of 200 events with one effect each in a few transactions of many events, and a redelivered one has no second effect', async () => {
    const events: EventEnvelope[] = Array.from({ length: 200 }, () => orderCreated());
    await publisher.publishAll(topic, events);
    await publisher.publish(topic, events[7]); // a redelivery of an event already in the backlog
    await start(); // after publishing: the consumer finds the backlog and fetches it in batches

    const effects = await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), {
      accept: (n) => n >= events.length,
      what: 'an effect per event',
    });
    await eventually(() => consumer!.transport.stats().counts[topic], { accept: (c) => c?.duplicate === 1, what: 'the redelivery counted as a duplicate' });
    expect(effects).toBe(events.length);
    expect(await db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`)).toBe(events.length);
    // One transaction per delivery would show 200 here; a batch holds up to 100 (maxBatchMessages).
    expect(await inboxTransactions()).toBeLessThanOrEqual(events.length / 4);
  });

  it('retries and dead-letters a failing event alone, while the events around it in the batch commit once each', async () => {
    const events: EventEnvelope[] = Array.from({ length: 30 }, () => orderCreated({ orderId: '00000000-0000-4000-8000-00000000b47c' }));
    const failing = events[12];
    consumer!.behaviour.failing.add(failing.id);
    await publisher.publishAll(topic, events); // one key: one partition, in order

    const others = events.filter((e) => e !== failing);
    for (const event of others) await eventually(() => db.effectsOf(event.id), { accept: (rows) => rows.length === 1, what: `one effect of ${event.id}` });
    const [letter] = await eventually(() => deadLettersOf(dlq.messages, run.group), {
      accept: (found) => found.length === 1,
      what: 'the failing event dead-lettered',
    });
    expect(JSON.parse(letter.value!.toString('utf8'))).toMatchObject({ id: failing.id });
    expect(await db.effectsOf(failing.id)).toEqual([]);
    expect(consumer!.behaviour.calls.get(failing.id)).toBeGreaterThanOrEqual(3);
  });
});
