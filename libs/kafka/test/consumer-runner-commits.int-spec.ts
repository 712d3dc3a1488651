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
 * How the runner commits offsets, on a real broker: not one request per
 * fetched batch, but the offsets done within a short interval together; and
 * every done offset committed by the time stop() returns.
 */
describe('ConsumerRunner offset commits (real Kafka broker)', () => {
  const conn = infraKafkaConnection(kafkaBrokers(), `runner-commits-spec-${process.pid}`);
  const kafka = new Kafka(toKafkaJsConfig(conn));

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
});
