import { load } from 'js-yaml';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_TOPICS } from '@lib/events/topics';
import { serverProperties } from '../src/broker';
import { sharedBrokerSettings, toKafkaEnvVar } from '../src/broker-settings';
import { DEFAULT_DATABASE_URLS, DEFAULT_TOPIC_PARTITIONS } from '../src/config';
import { COMPOSE_FILE, REPO_ROOT } from '../src/paths';
import { KAFKA_VERSION } from '../src/versions';

type Obj = Record<string, unknown>;
const compose = load(fs.readFileSync(COMPOSE_FILE, 'utf8')) as Obj;
const services = compose.services as Obj;
const kafka = services.kafka as Obj;
const kafkaEnv = kafka.environment as Obj;
const init = services['kafka-init'] as Obj;
const initEnv = init.environment as Obj;
const postgres = services.postgres as Obj;

describe('docker-compose.kafka.yml matches the jar path (libs/infra)', () => {
  it('runs the same Apache Kafka version as the jars fetched from Maven Central', () => {
    expect(kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(init.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
  });

  it('configures the broker with the same settings as the local server.properties', () => {
    for (const [property, value] of Object.entries(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS))) {
      expect({ property, value: kafkaEnv[toKafkaEnvVar(property)] }).toEqual({ property, value });
    }
    expect(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka:9093');
    expect(kafkaEnv.CLUSTER_ID).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('writes those shared settings into the local broker server.properties too', () => {
    const props = Object.fromEntries(
      serverProperties('main', 9092, 9093, DEFAULT_TOPIC_PARTITIONS)
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(props).toMatchObject(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS));
    expect(props.listeners).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:9093');
  });

  it('offers the broker to the host on localhost:9092 like the local broker', () => {
    expect(kafka.ports).toContain('127.0.0.1:9092:9092');
    expect(String(kafkaEnv.KAFKA_LISTENERS)).toContain('PLAINTEXT_HOST://:9092');
    expect(String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS)).toContain('PLAINTEXT_HOST://localhost:9092');
  });

  it('creates every contract topic with the default partition count in kafka-init', () => {
    expect(String(initEnv.TOPICS).split(/\s+/)).toEqual([...ALL_TOPICS]);
    expect(initEnv.PARTITIONS).toBe(String(DEFAULT_TOPIC_PARTITIONS));
    expect(initEnv.REPLICATION_FACTOR).toBe('1');
    const script = (init.command as string[]).join('\n');
    expect(script).toContain('--create --if-not-exists');
    expect(script).toMatch(/for topic in \$\$TOPICS/);
    expect(script).toContain('--partitions "$$PARTITIONS"');
  });

  it('creates the three app databases in postgres:15', () => {
    expect(postgres.image).toBe('postgres:15');
    const mount = (postgres.volumes as string[]).find((v) => v.endsWith(':/docker-entrypoint-initdb.d/init.sql:ro'));
    expect(mount).toBeDefined();
    const sql = fs.readFileSync(path.join(REPO_ROOT, mount!.split(':')[0]!), 'utf8');
    for (const url of Object.values(DEFAULT_DATABASE_URLS)) {
      expect(sql).toContain(`CREATE DATABASE ${new URL(url).pathname.slice(1)};`);
    }
  });
});
