import { ConsumedMessage, ConsumerRunner, ensureTopics } from '@lib/kafka';
import { createTestDatabase, eventually, orderCreated, sendWithConsoleProducer, uniqueName } from '@lib/testing';
import { BROKERS, connection, createRunTopics, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

/**
 * A consumer that crashes must not stay dead while the process looks
 * healthy: records compressed with any codec Kafka offers are read, and a
 * crash kafkajs does not recover from is restarted by the runner — or, when
 * that keeps failing, reported as 'failed' (which fails liveness).
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

describe('a consumer that crashes is restarted, or reported as failed', () => {
  const runners: ConsumerRunner[] = [];
  let publisher: TestPublisher;
  let topic: string;

  beforeAll(async () => {
    topic = uniqueName('test.messaging.crash');
    await ensureTopics(connection('test-admin'), [topic], { partitions: 1, replicationFactor: 1 });
    publisher = new TestPublisher();
  });

  afterAll(async () => {
    for (const runner of runners) await runner.stop().catch(() => undefined);
    await publisher.close();
  });

  function runner(groupId: string, restart: { initialDelayMs: number; maxRestarts: number }): ConsumerRunner {
    const r = new ConsumerRunner(connection(groupId), {
      groupId,
      topics: [topic],
      partitionsConsumedConcurrently: 1,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      fromBeginning: true,
      restart: { ...restart, maxDelayMs: 2000, windowMs: 60_000 },
    });
    runners.push(r);
    return r;
  }

  it('restarts a consumer whose batch threw (a crash kafkajs does not restart) and handles the next valid event', async () => {
    const crashOn = orderCreated();
    const next = orderCreated();
    const seen: ConsumedMessage[] = [];
    let crashed = false;
    const r = runner(uniqueName('test-crash-restart'), { initialDelayMs: 200, maxRestarts: 3 });
    await r.start((message) => {
      if (!crashed && message.key?.toString() === crashOn.data.orderId) {
        crashed = true;
        // Not a kafkajs error: kafkajs gives up on the consumer (restart: false).
        return Promise.reject(new Error('forced crash of the consumer'));
      }
      seen.push(message);
      return Promise.resolve('done');
    });
    await eventually(() => r.status().state, { accept: (s) => s === 'joined', what: 'joined' });
    await publisher.publish(topic, crashOn);
    await eventually(() => crashed, { what: 'the forced crash' });
    await publisher.publish(topic, next);

    await eventually(() => seen.map((m) => m.key?.toString()), {
      accept: (keys) => keys.includes(next.data.orderId),
      timeoutMs: 60_000,
      what: `the next event handled after the restart (state ${r.status().state}, ${r.status().lastError})`,
    });
    // The message that crashed it was not committed: it comes again after the restart, before the next one.
    expect(seen.map((m) => m.key?.toString())).toEqual([crashOn.data.orderId, next.data.orderId]);
    expect(r.status()).toMatchObject({ state: 'joined', restarts: 1 });
  });

  it('reports the consumer as failed, not restarting any more, when it keeps crashing', async () => {
    const r = runner(uniqueName('test-crash-loop'), { initialDelayMs: 100, maxRestarts: 2 });
    let calls = 0;
    await r.start(() => {
      calls++;
      return Promise.reject(new Error('forced crash, every time'));
    });
    await publisher.publish(topic, orderCreated());
    await eventually(() => r.status().state, { accept: (s) => s === 'failed', timeoutMs: 60_000, what: 'the consumer reported failed' });
    expect(r.status().restarts).toBe(2);
    expect(r.status().lastError).toContain('forced crash, every time');
    expect(calls).toBeGreaterThanOrEqual(3);
  });
});
