import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DEAD_LETTER_TOPICS, EVENT_TOPICS } from '@lib/events/topics';
import { describeTopicConfigs } from '@lib/kafka/admin';
import { DEFAULT_EVENT_RETENTION_MS } from '../src/broker-settings';
import { ensureContractTopics } from '../src';
import { freePort, startPrivateKafka, type KafkaUnderTest } from '@lib/testing';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');
let kafka: KafkaUnderTest;

beforeAll(async () => {
  // The contract topics exist before infra:up runs: created with the broker's defaults (7 days everywhere).
  kafka = await startPrivateKafka(`retention-${process.pid}`, await freePort(), 1);
});

afterAll(async () => {
  await kafka?.stop();
});

const retentionOf = async (topic: string) =>
  (await describeTopicConfigs({ brokers: kafka.brokers, clientId: 'retention-spec' }, topic, ['retention.ms']))['retention.ms'];

describe('dead-letter retention', () => {
  it('starts from topics that keep dead letters for the broker default of 7 days', async () => {
    expect(await retentionOf('payment.dlq')).toBe('604800000');
  });

  it('gives existing dead-letter topics unlimited retention and event topics the documented 7 days, as infra:up does', async () => {
    const result = await ensureContractTopics(kafka.brokers, { partitions: 1, nodes: 1, log: () => undefined });
    expect(result.created).toEqual([]);
    expect(result.reconfigured).toEqual(expect.arrayContaining([...DEAD_LETTER_TOPICS, ...EVENT_TOPICS]));
    for (const topic of DEAD_LETTER_TOPICS) expect(await retentionOf(topic)).toBe('-1');
    for (const topic of EVENT_TOPICS) expect(await retentionOf(topic)).toBe(DEFAULT_EVENT_RETENTION_MS);
    // The other topic config set by infra:up is kept.
    expect(
      (await describeTopicConfigs({ brokers: kafka.brokers, clientId: 'retention-spec' }, 'payment.dlq', ['min.insync.replicas']))['min.insync.replicas'],
    ).toBe('1');
  });

  it('changes nothing the second time', async () => {
    const again = await ensureContractTopics(kafka.brokers, { partitions: 1, nodes: 1, log: () => undefined });
    expect(again.reconfigured).toEqual([]);
  });

  it('shows the unlimited retention through bin/kafka-configs.sh --describe', () => {
    const r = spawnSync(
      path.join(ROOT, 'bin', 'kafka-configs.sh'),
      ['--bootstrap-server', kafka.brokers.join(','), '--describe', '--entity-type', 'topics', '--entity-name', 'payment.dlq'],
      { cwd: '/tmp', encoding: 'utf8', timeout: 120_000 },
    );
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/retention\.ms=-1\b/);
  });

  it('honours KAFKA_DLQ_RETENTION_MS when set', async () => {
    process.env.KAFKA_DLQ_RETENTION_MS = String(30 * 24 * 3600 * 1000);
    try {
      await ensureContractTopics(kafka.brokers, { partitions: 1, nodes: 1, log: () => undefined });
      expect(await retentionOf('order.dlq')).toBe('2592000000');
    } finally {
      delete process.env.KAFKA_DLQ_RETENTION_MS;
    }
  });
});
