import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Kafka, type Consumer, type KafkaMessage } from 'kafkajs';
import { ALL_TOPICS } from '@lib/events/topics';
import { ensureTopics } from '@lib/kafka/admin';
import { toKafkaJsConfig } from '@lib/kafka/kafka-config';
import { infraKafkaConnection, infraUp, isBrokerRunning, kafkaBrokers, topicPartitions } from '@lib/infra';
import { eventually } from '@lib/testing';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');
const conn = infraKafkaConnection(kafkaBrokers(), `local-kafka-spec-${process.pid}`);
const kafka = new Kafka(toKafkaJsConfig(conn));
const runId = `${Date.now()}-${randomUUID().slice(0, 8)}`;
const consumers: Consumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
});

async function freshTopic(label: string): Promise<string> {
  const topic = `test.infra.${label}.${runId}`;
  await ensureTopics(conn, [topic], { partitions: 3, replicationFactor: 1 });
  return topic;
}

/** Consumes `topic` from the beginning with a new group until `count` messages arrived (fails after the deadline). */
async function consume(topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `test.infra.${randomUUID()}` });
  consumers.push(consumer);
  const received: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push(message);
    },
  });
  try {
    await eventually(() => received.length >= count, { timeoutMs, what: `${count} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

/** Runs a command (from a directory other than the repo root), feeding `input` on stdin. */
function run(cmd: string, args: string[], input: string | undefined, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: '/tmp', stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} timed out after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

describe('local infrastructure (real Kafka broker and PostgreSQL)', () => {
  it('delivers a keyed message produced with kafkajs to a new consumer group reading from the beginning', async () => {
    const topic = await freshTopic('roundtrip');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'order-42', value: JSON.stringify({ hello: 'kafka' }) }] });
    await producer.disconnect();

    const [message] = await consume(topic, 1);
    expect(message?.key?.toString()).toBe('order-42');
    expect(JSON.parse(message!.value!.toString())).toEqual({ hello: 'kafka' });
  });

  it('delivers a keyed message typed into the console producer wrapper, which kafkajs reads with that key', async () => {
    const topic = await freshTopic('console-producer');
    const { code, stderr } = await run(
      path.join(ROOT, 'bin', 'kafka-console-producer.sh'),
      ['--bootstrap-server', kafkaBrokers().join(','), '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=|'],
      'order-1|{"hello":1}\n',
      60_000,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

    const [message] = await consume(topic, 1);
    expect(message?.key?.toString()).toBe('order-1');
    expect(message?.value?.toString()).toBe('{"hello":1}');
  });

  it('prints a message with its key through the console consumer wrapper', async () => {
    const topic = await freshTopic('console-consumer');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'order-7', value: '{"seen":true}' }] });
    await producer.disconnect();

    const { code, stdout } = await run(
      path.join(ROOT, 'bin', 'kafka-console-consumer.sh'),
      [
        '--bootstrap-server',
        kafkaBrokers().join(','),
        '--topic',
        topic,
        '--from-beginning',
        '--max-messages',
        '1',
        '--timeout-ms',
        '30000',
        '--property',
        'print.key=true',
        '--property',
        'key.separator=|',
      ],
      undefined,
      60_000,
    );
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('order-7|{"seen":true}');
  });

  it('serves kafkajs 2.2.4 on the running Kafka version: idempotent acks=-1 producer, a two-member group that rebalances and commits, and the admin calls that read it back', async () => {
    const topic = await freshTopic('kafkajs-compat');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k-${i}`, value: `v-${i}` })) });
    await producer.disconnect();

    const groupId = `test.infra.compat.${randomUUID()}`;
    const seen = new Set<string>();
    const members = [
      kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 }),
      kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 }),
    ];
    consumers.push(...members);
    const assigned = new Map<number, number>();
    for (const [i, member] of members.entries()) {
      member.on(member.events.GROUP_JOIN, (e) => assigned.set(i, Object.values(e.payload.memberAssignment).flat().length));
      await member.connect();
      await member.subscribe({ topic, fromBeginning: true });
      await member.run({ eachMessage: async ({ message }) => void seen.add(message.key!.toString()) });
    }
    // The second member's join rebalances the group: both end up with partitions.
    const deadline = Date.now() + 30_000;
    while ((seen.size < 30 || assigned.size < 2 || [...assigned.values()].some((n) => n === 0)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect({ consumed: seen.size, membersWithPartitions: [...assigned.values()].filter((n) => n > 0).length }).toEqual({
      consumed: 30,
      membersWithPartitions: 2,
    });

    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      expect({ state: groups[0]?.state, members: groups[0]?.members.length, protocolType: groups[0]?.protocolType }).toEqual({
        state: 'Stable',
        members: 2,
        protocolType: 'consumer',
      });
      await Promise.all(members.map((m) => m.disconnect()));
      // Auto-commit on leave: the committed offsets cover all 30 messages.
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(offsets!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(30);
      const ends = await admin.fetchTopicOffsets(topic);
      expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(30);
    } finally {
      await admin.disconnect();
    }
  });

  it('is idempotent: infraUp twice keeps the running broker and creates nothing the second time', async () => {
    const first = await infraUp({ log: () => undefined });
    const second = await infraUp({ log: () => undefined });
    expect(second.startedBroker).toBe(false);
    expect(second.createdTopics).toEqual([]);
    expect(second.createdDatabases).toEqual([]);
    expect(second.brokers).toEqual(first.brokers);
    if (second.mode === 'jar') expect(isBrokerRunning('main')).toBe(true);
  });

  it('has every contract topic with the configured partition count', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [...ALL_TOPICS] });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual(Object.fromEntries(ALL_TOPICS.map((t) => [t, topicPartitions()])));
    } finally {
      await admin.disconnect();
    }
  });
});
