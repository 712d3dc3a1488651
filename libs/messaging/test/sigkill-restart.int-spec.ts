import { createTestDatabase, eventually, NodeProcess, orderCreated } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createRunTopics, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, TestConsumerOptions } from './support/test-consumer';

jest.setTimeout(150_000);

/** The test consumer (support/consumer-process.ts) as a process of its own; `start()` resolves once its group is joined. */
const consumerProcess = (config: TestConsumerOptions & { defaultDelayMs: number }) =>
  new NodeProcess({
    name: 'test-consumer',
    script: path.join(__dirname, 'support', 'consumer-process.ts'),
    env: { TEST_CONSUMER: JSON.stringify(config) },
    ready: { kind: 'line', line: 'READY' },
    readyTimeoutMs: 60_000,
  });

describe('KafkaEventsTransport in a consumer killed with SIGKILL', () => {
  const run = testRun('sigkill');
  const topic = run.topic('order.created');
  let db: TestDb;
  let databaseUrl: string;
  let publisher: TestPublisher;
  const processes: NodeProcess[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    const database = await createTestDatabase('messaging_sigkill');
    cleanup.push(() => database.drop());
    databaseUrl = database.url;
    await migrateTestDatabase(database.url);
    db = new TestDb(database.url);
    cleanup.unshift(() => db.close());
    publisher = new TestPublisher();
    cleanup.unshift(() => publisher.close());
  });

  afterAll(async () => {
    for (const consumer of processes) await consumer.kill('SIGKILL');
    for (const step of cleanup) await step().catch((e: Error) => console.warn(`cleanup: ${e.message}`));
  });

  it('gives every event exactly one effect when the consumer is SIGKILLed mid-stream and started again (inbox rows = effects = distinct event ids)', async () => {
    const config = {
      app: 'payment' as const,
      groupId: run.group,
      topicPrefix: run.prefix,
      databaseUrl,
      // A dead member holds its partitions until its session times out; keep that short.
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      // Slow enough that the kill lands mid-stream, with handlers in flight.
      defaultDelayMs: 30,
    };
    // 30 orders with 10 events each: keys spread over the partitions, several events per key.
    const orders = Array.from({ length: 30 }, () => randomUUID());
    const events = Array.from({ length: 300 }, (_, i) => orderCreated({ orderId: orders[i % orders.length] }));
    const first = consumerProcess(config);
    processes.push(first);
    await first.start();
    await publisher.publishAll(topic, events.slice(0, 200));

    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), {
      accept: (n) => n >= 100,
      timeoutMs: 30_000,
      what: '100 effects before the kill',
    });
    await first.kill('SIGKILL');
    const atKill = await db.count(`SELECT count(*) AS n FROM test_effects`);
    expect(atKill).toBeLessThan(events.length); // killed mid-stream

    // Events keep arriving while it is down.
    await publisher.publishAll(topic, events.slice(200));
    const second = consumerProcess(config);
    processes.push(second);
    await second.start();

    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
      accept: (n) => n === events.length,
      timeoutMs: 90_000,
      what: `all ${events.length} events handled after the restart`,
    });
    await second.stop();
    // Redeliveries of what the killed process had handled but not yet committed are caught by the inbox.
    const stats = JSON.parse(/^STATS (.*)/.exec(await second.waitForLine(/^STATS /))?.[1] ?? '{}') as Record<string, { handled: number; duplicate: number }>;
    console.log(`killed after ${atKill} effects; the restarted consumer handled ${stats[topic]?.handled} and skipped ${stats[topic]?.duplicate} duplicates`);
    expect(stats[topic]?.handled).toBe(events.length - atKill);

    const effects = await db.count(`SELECT count(*) AS n FROM test_effects`);
    const distinctEffects = await db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`);
    const inbox = await db.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1`, [run.group]);
    expect({ effects, distinctEffects, inbox }).toEqual({ effects: events.length, distinctEffects: events.length, inbox: events.length });
    const handled = new Set((await db.rows<{ event_id: string }>(`SELECT event_id FROM inbox`)).map((r) => r.event_id));
    expect(events.filter((e) => !handled.has(e.id))).toEqual([]);
  });
});
