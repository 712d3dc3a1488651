import { createTestDatabase, eventually, TopicRecorder } from '@lib/testing';
import { createRunTopics, deadLettersOf, orderCreated, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
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
    const before = Array.from({ length: 6 }, () => orderCreated());
    await publisher.publishAll(topic, before);
    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), { accept: (n) => n === before.length, what: 'events before the outage handled' });

    await proxy.cut();
    const cutAt = Date.now();
    const during: ReturnType<typeof orderCreated>[] = [];
    const waitingSeen: string[] = [];
    // Events keep arriving throughout the outage.
    while (Date.now() - cutAt < OUTAGE_MS) {
      const batch = [orderCreated(), orderCreated(), orderCreated()];
      await publisher.publishAll(topic, batch);
      during.push(...batch);
      const { waitingFor } = consumer.transport.stats();
      if (waitingFor) waitingSeen.push(waitingFor);
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Readiness (stats().waitingFor) reported the outage, and nothing was committed meanwhile.
    expect(waitingSeen.length).toBeGreaterThan(0);
    expect(await db.count(`SELECT count(*) AS n FROM test_effects`)).toBe(before.length);
    await proxy.restore();

    const all = [...before, ...during];
    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
      accept: (n) => n === all.length,
      timeoutMs: 60_000,
      what: `all ${all.length} events handled after the database came back`,
    });
    expect(await db.count(`SELECT count(*) AS n FROM test_effects`)).toBe(all.length);
    expect(await db.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1`, [run.group])).toBe(all.length);
    const handledIds = new Set((await db.rows<{ event_id: string }>(`SELECT event_id FROM test_effects`)).map((r) => r.event_id));
    expect(all.filter((e) => !handledIds.has(e.id))).toEqual([]);

    const stats = consumer.transport.stats();
    expect(stats.counts[topic]).toMatchObject({ dead_lettered: 0, retried: 0 });
    expect(stats.waitingFor).toBeNull();
    // Give a wrongly dead-lettered message time to show up in order.dlq, then check there is none.
    await publisher.publish(topic, orderCreated());
    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), { accept: (n) => n === all.length + 1, what: 'event after the outage' });
    expect(deadLettersOf(dlq.messages, run.group)).toEqual([]);
  });
});
