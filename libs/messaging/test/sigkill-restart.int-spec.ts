import { createTestDatabase, eventually, orderCreated } from '@lib/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createRunTopics, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, TestConsumerOptions } from './support/test-consumer';

jest.setTimeout(150_000);

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CONSUMER_SCRIPT = path.join(__dirname, 'support', 'consumer-process.ts');

/** Starts the test consumer in a process of its own; resolves once its group is joined. */
async function startConsumerProcess(config: TestConsumerOptions & { defaultDelayMs: number }): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', CONSUMER_SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...process.env, TEST_CONSUMER: JSON.stringify(config), TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumer process not ready within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      if (output.includes('READY')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`consumer process exited with ${code} before it was ready:\n${output}`));
    });
  });
  return { child, output: () => output };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('KafkaEventsTransport in a consumer killed with SIGKILL', () => {
  const run = testRun('sigkill');
  const topic = run.topic('order.created');
  let db: TestDb;
  let databaseUrl: string;
  let publisher: TestPublisher;
  const children: ChildProcess[] = [];
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
    for (const child of children) await kill(child, 'SIGKILL');
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
    const first = await startConsumerProcess(config);
    children.push(first.child);
    await publisher.publishAll(topic, events.slice(0, 200));

    await eventually(() => db.count(`SELECT count(*) AS n FROM test_effects`), { accept: (n) => n >= 100, timeoutMs: 30_000, what: '100 effects before the kill' });
    await kill(first.child, 'SIGKILL');
    const atKill = await db.count(`SELECT count(*) AS n FROM test_effects`);
    expect(atKill).toBeLessThan(events.length); // killed mid-stream

    // Events keep arriving while it is down.
    await publisher.publishAll(topic, events.slice(200));
    const second = await startConsumerProcess(config);
    children.push(second.child);

    await eventually(() => db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
      accept: (n) => n === events.length,
      timeoutMs: 90_000,
      what: `all ${events.length} events handled after the restart`,
    });
    await kill(second.child, 'SIGTERM');
    // Redeliveries of what the killed process had handled but not yet committed are caught by the inbox.
    const stats = JSON.parse(/STATS (.*)/.exec(second.output())?.[1] ?? '{}') as Record<string, { handled: number; duplicate: number }>;
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
