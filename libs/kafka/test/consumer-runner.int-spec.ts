import { randomUUID } from 'node:crypto';
import { Kafka } from 'kafkajs';
import { ensureTopics } from '@lib/kafka/admin';
import { ConsumerRunner } from '@lib/kafka/consumer-runner';
import { toKafkaJsConfig } from '@lib/kafka/kafka-config';
import { infraKafkaConnection, kafkaBrokers } from '@lib/infra';
import { eventually } from '@lib/testing';

jest.setTimeout(90_000);

/** The offset commits of kafkajs's consumer groups (watched, not replaced). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's internal class, where every commit goes through
const { prototype: offsetManager } = require('kafkajs/src/consumer/offsetManager') as { prototype: { commitOffsets: (offsets?: unknown) => Promise<void> } };

/**
 * How the runner commits offsets and reports partitions without progress, on
 * a real broker: not one commit request per fetched batch, but the offsets
 * done within a short interval together, and every done offset committed by
 * the time stop() returns; a partition that moved to another member at a
 * rebalance is no longer reported as stuck here.
 */
describe('ConsumerRunner offsets and partitions in work (real Kafka broker)', () => {
  const conn = infraKafkaConnection(kafkaBrokers(), `runner-commits-spec-${process.pid}`);
  const kafka = new Kafka(toKafkaJsConfig(conn));
  const runners: ConsumerRunner[] = [];

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
  });

  it('commits the offsets of many small batches in a few requests, and everything done by the time it stops', async () => {
    const topic = `test.runner.commits.${randomUUID()}`;
    await ensureTopics(conn, [topic], { partitions: 3, replicationFactor: 1 });
    const groupId = `test.runner.commits.${randomUUID()}`;
    const runner = new ConsumerRunner(conn, {
      groupId,
      topics: [topic],
      partitionsConsumedConcurrently: 3,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      fromBeginning: true,
      maxWaitTimeMs: 100,
    });
    const done: string[] = [];
    await runner.start(async (message) => {
      done.push(message.value!.toString());
      return 'done';
    });
    await eventually(() => runner.status().state === 'joined', { timeoutMs: 30_000, what: 'the runner joined' });

    const commits = jest.spyOn(offsetManager, 'commitOffsets');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const count = 40;
    try {
      // One message at a time, each consumed before the next: a fetched batch each.
      for (let i = 0; i < count; i++) {
        await producer.send({ topic, acks: -1, messages: [{ key: `k-${i % 7}`, value: `v-${i}` }] });
        await eventually(() => done.length > i, { timeoutMs: 10_000, what: `message ${i} done` });
      }
    } finally {
      await producer.disconnect();
    }
    await runner.stop();
    const requests = commits.mock.calls.length;
    commits.mockRestore();

    expect(done).toHaveLength(count);
    // One per fetched batch would be 40; within the commit interval they go together.
    expect(requests).toBeLessThan(count / 2);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      // A partition that got no message has no commit (-1): it is at its start, 0.
      const at = committed!.partitions.map((p) => [p.partition, p.offset === '-1' ? '0' : p.offset]);
      expect(at.sort()).toEqual(ends.map((p) => [p.partition, p.high]).sort());
    } finally {
      await admin.disconnect();
    }
  });

  it('reports a partition whose run hangs in the batch processor, and no longer once a run made progress after a retry', async () => {
    const topic = `test.runner.batch-progress.${randomUUID()}`;
    await ensureTopics(conn, [topic], { partitions: 1, replicationFactor: 1 });
    const runner = new ConsumerRunner(conn, {
      groupId: `test.runner.batch-progress.${randomUUID()}`,
      topics: [topic],
      partitionsConsumedConcurrently: 1,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      fromBeginning: true,
      maxWaitTimeMs: 100,
    });
    runners.push(runner);
    // The first run hangs until released, then gives up (0 done); its message then fails once one by one
    // (retried after a pause: in work meanwhile), and the next run takes everything.
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let runs = 0;
    const batch = { maxMessages: 10, process: async (messages: readonly unknown[]) => (++runs === 1 ? (await released, 0) : messages.length) };
    let tries = 0;
    await runner.start(async () => (++tries === 1 ? { retryInMs: 300 } : 'done'), batch);
    await eventually(() => runner.status().state === 'joined', { timeoutMs: 30_000, what: 'the runner joined' });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();

    await eventually(() => runner.stuckPartitions(0).map((p) => `${p.topic}[${p.partition}]@${p.offset}`), {
      accept: (stuck) => stuck.join() === `${topic}[0]@0`,
      what: 'the hanging run in work',
    });
    release();
    await eventually(() => runs, { accept: (n) => n >= 2, what: 'a second run' });
    await eventually(() => runner.stuckPartitions(0), { accept: (stuck) => stuck.length === 0, what: 'nothing in work once the run made progress' });
    expect(tries).toBe(1);
  });

  it('stops reporting a partition waiting for its retry as stuck once a rebalance gave it to another member', async () => {
    const topic = `test.runner.moved.${randomUUID()}`;
    await ensureTopics(conn, [topic], { partitions: 2, replicationFactor: 1 });
    const groupId = `test.runner.moved.${randomUUID()}`;
    const member = () =>
      new ConsumerRunner(conn, {
        groupId,
        topics: [topic],
        partitionsConsumedConcurrently: 2,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 500,
        fromBeginning: true,
      });
    // Every message is to be tried again in a minute: its partition is paused, its message in work.
    const later = async () => ({ retryInMs: 60_000 });
    const [first, second] = [member(), member()];
    runners.push(first, second);
    await first.start(later);
    await eventually(() => first.status().state === 'joined', { timeoutMs: 30_000, what: 'the first member joined' });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [0, 1].map((partition) => ({ partition, value: `p${partition}` })) });
    await producer.disconnect();
    await eventually(() => first.stuckPartitions(0).length, { accept: (n) => n === 2, what: 'both partitions in work on the first member' });

    await second.start(later);
    await eventually(() => [first.status(), second.status()], {
      timeoutMs: 30_000,
      accept: (both) => both.every((s) => s.state === 'joined' && s.assigned.length === 1),
      what: 'a partition each',
    });
    // The first member reports only the partition it still holds.
    const held = first.status().assigned;
    expect(first.stuckPartitions(0).map((p) => `${p.topic}[${p.partition}]`)).toEqual(held);
  });
});
