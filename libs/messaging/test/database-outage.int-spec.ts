import { createDatabase } from '@lib/infra';
import { createTestDatabase, eventually, orderCreated, startPrivatePostgres, TcpProxy, TopicRecorder } from '@lib/testing';
import { createRunTopics, deadLettersOf, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

jest.setTimeout(150_000);

const OUTAGE_MS = 20_000;

/** A database the consumer uses, and a way to take it away for a while. */
interface Outage {
  /** The consumer's database URL. */
  url: string;
  /** The same database as the test reads it (not through the outage, where that is possible). */
  directUrl: string;
  interrupt: () => Promise<void>;
  resume: () => Promise<void>;
  /** Whether the test can still read the database while the consumer cannot. */
  databaseReadableDuringOutage: boolean;
  release: () => Promise<void>;
}

const outages: { name: string; label: string; prepare: () => Promise<Outage> }[] = [
  {
    // A server of the test's own, so the machine's shared server is not touched.
    name: 'its PostgreSQL server is stopped (pg_ctl stop, then start)',
    label: 'pgstop',
    prepare: async () => {
      const server = await startPrivatePostgres('messaging-stop', 25433);
      const url = server.url('consumer');
      await createDatabase(url);
      return {
        url,
        directUrl: url,
        interrupt: () => server.stop(),
        resume: () => server.start(),
        databaseReadableDuringOutage: false,
        release: () => server.destroy(),
      };
    },
  },
  {
    // What a stopped server or a network partition does to clients: open connections reset, new ones refused.
    name: 'its connections to PostgreSQL are cut (a TCP proxy in front of the shared server)',
    label: 'pgcut',
    prepare: async () => {
      const database = await createTestDatabase('messaging_outage');
      const target = new URL(database.url);
      const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(database.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      return {
        url: viaProxy.toString(),
        directUrl: database.url,
        interrupt: () => proxy.cut(),
        resume: () => proxy.restore(),
        databaseReadableDuringOutage: true,
        release: async () => {
          await proxy.stop();
          await database.drop();
        },
      };
    },
  },
];

describe.each(outages)('KafkaEventsTransport while $name', ({ label, prepare }) => {
  const run = testRun(label);
  const topic = run.topic('order.created');
  let outage: Outage;
  let consumer: TestConsumer;
  let db: TestDb;
  let dlq: TopicRecorder;
  let publisher: TestPublisher;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    outage = await prepare();
    cleanup.push(() => outage.release());
    await migrateTestDatabase(outage.url);
    db = new TestDb(outage.directUrl);
    cleanup.unshift(() => db.close());
    dlq = await TopicRecorder.start(['order.dlq']);
    cleanup.unshift(() => dlq.stop());
    consumer = await startTestConsumer({
      app: 'order',
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl: outage.url,
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

  // Before the outage, events are handled; during it they keep arriving while nothing is committed and the
  // consumer reports what it waits for; after it, every event has exactly one effect and one inbox row,
  // nothing was retried or dead-lettered, and the consumer keeps going.
  it('dead-letters nothing, loses nothing, and handles every event once after a 20 s outage', async () => {
    const effects = () => db.count(`SELECT count(*) AS n FROM test_effects`);
    const before = Array.from({ length: 6 }, () => orderCreated());
    await publisher.publishAll(topic, before);
    await eventually(effects, { accept: (n) => n === before.length, what: 'events before the outage handled' });

    await outage.interrupt();
    const startedAt = Date.now();
    const during: ReturnType<typeof orderCreated>[] = [];
    const waitingSeen: string[] = [];
    while (Date.now() - startedAt < OUTAGE_MS) {
      const batch = [orderCreated(), orderCreated(), orderCreated()];
      await publisher.publishAll(topic, batch);
      during.push(...batch);
      const { waitingFor } = consumer.transport.stats();
      if (waitingFor) waitingSeen.push(waitingFor);
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Readiness (stats().waitingFor) reported the outage, and nothing was committed meanwhile.
    expect(waitingSeen.length).toBeGreaterThan(0);
    if (outage.databaseReadableDuringOutage) expect(await effects()).toBe(before.length);
    await outage.resume();

    const all = [...before, ...during];
    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
      accept: (n) => n === all.length,
      timeoutMs: 60_000,
      what: `all ${all.length} events handled after the database came back`,
    });
    expect(await effects()).toBe(all.length);
    expect(await db.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1`, [run.group])).toBe(all.length);
    const handledIds = new Set((await db.rows<{ event_id: string }>(`SELECT event_id FROM test_effects`)).map((r) => r.event_id));
    expect(all.filter((e) => !handledIds.has(e.id))).toEqual([]);

    const stats = consumer.transport.stats();
    expect(stats.counts[topic]).toMatchObject({ dead_lettered: 0, retried: 0 });
    expect(stats.waitingFor).toBeNull();
    // One more event after the outage: handled, and by then a wrongly dead-lettered message would have shown up.
    await publisher.publish(topic, orderCreated());
    await eventually(effects, { accept: (n) => n === all.length + 1, what: 'event after the outage' });
    expect(deadLettersOf(dlq.messages, run.group)).toEqual([]);
  });
});
