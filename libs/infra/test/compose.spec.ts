import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { ALL_TOPICS } from '@lib/events/topics';
import { serverProperties, singleNode } from '../src/broker';
import { sharedBrokerSettings, toKafkaEnvVar } from '../src/broker-settings';
import { CLUSTER_NODE_JVM_OPTS, clusterLayout } from '../src/cluster';
import { DEFAULT_DATABASE_URLS, DEFAULT_TOPIC_PARTITIONS, localBootstrap } from '../src/config';
import { COMPOSE_FILE, REPO_ROOT } from '../src/paths';
import { APP_ACLS, DEFAULT_SECURE_PORT, SECURE_PRINCIPALS, SecureMaterial, secureBrokerProperties } from '../src/secure-broker';
import { DEFAULT_KAFKA_VERSION } from '../src/versions';

type Obj = { [key: string]: unknown };
const compose = load(fs.readFileSync(COMPOSE_FILE, 'utf8')) as Obj;
const services = compose.services as Record<string, Obj>;
const kafka = services.kafka!;
const kafkaEnv = kafka.environment as Obj;
const init = services['kafka-init']!;
const initEnv = init.environment as Obj;
const postgres = services.postgres!;
const clusterNodes = ['kafka-1', 'kafka-2', 'kafka-3'].map((name) => services[name]!);
const clusterInit = services['kafka-cluster-init']!;
const clusterInitEnv = clusterInit.environment as Obj;
const KAFKA_IMAGE = `apache/kafka:\${KAFKA_VERSION:-${DEFAULT_KAFKA_VERSION}}`;

/** A generated server.properties as an object, without comments. */
function properties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('docker-compose.kafka.yml matches the jar path (libs/infra)', () => {
  it('runs the same Apache Kafka version as the jars fetched from Maven Central, KAFKA_VERSION overriding the default in both', () => {
    for (const service of [kafka, init, ...clusterNodes, clusterInit]) expect(service.image).toBe(KAFKA_IMAGE);
  });

  it('configures the broker with the same settings as the local server.properties', () => {
    for (const [property, value] of Object.entries(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS))) {
      expect({ property, value: kafkaEnv[toKafkaEnvVar(property)] }).toEqual({ property, value });
    }
    expect(kafkaEnv.KAFKA_NODE_ID).toBe('1');
    expect(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka:9093');
    expect(kafkaEnv.CLUSTER_ID).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('writes those shared settings into the local broker server.properties too', () => {
    const props = properties(serverProperties(singleNode('main', 9092, 9093, DEFAULT_TOPIC_PARTITIONS, DEFAULT_KAFKA_VERSION)));
    expect(props).toMatchObject(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS));
    expect(props['node.id']).toBe('1');
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
    expect(initEnv.MIN_INSYNC_REPLICAS).toBe('1');
    const script = (init.command as string[]).join('\n');
    expect(script).toContain('--create --if-not-exists');
    expect(script).toMatch(/for topic in \$\$TOPICS/);
    expect(script).toContain('--partitions "$$PARTITIONS"');
    expect(script).toContain('--config min.insync.replicas="$$MIN_INSYNC_REPLICAS"');
  });

  it('creates the app databases and the console database in postgres:15', () => {
    expect(postgres.image).toBe('postgres:15');
    const mount = (postgres.volumes as string[]).find((v) => v.endsWith(':/docker-entrypoint-initdb.d/init.sql:ro'));
    expect(mount).toBeDefined();
    const sql = fs.readFileSync(path.join(REPO_ROOT, mount!.split(':')[0]!), 'utf8');
    for (const url of Object.values(DEFAULT_DATABASE_URLS)) {
      expect(sql).toContain(`CREATE DATABASE ${new URL(url).pathname.slice(1)};`);
    }
  });
});

describe('the "cluster" profile of docker-compose.kafka.yml matches `infra:up -- --brokers 3`', () => {
  const local = clusterLayout({ nodes: 3, basePort: 9092, partitions: DEFAULT_TOPIC_PARTITIONS, version: DEFAULT_KAFKA_VERSION });

  it('runs three nodes only under the profile, so that a plain `up` still starts the single broker alone', () => {
    for (const service of [...clusterNodes, clusterInit]) expect(service.profiles).toEqual(['cluster']);
    expect(kafka.profiles).toBeUndefined();
  });

  it('gives every node the cluster settings of the local nodes, one cluster id, one voter set and its own node id', () => {
    const envs = clusterNodes.map((n) => n.environment as Obj);
    envs.forEach((env, i) => {
      for (const [property, value] of Object.entries(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS, 3))) {
        expect({ node: i + 1, property, value: env[toKafkaEnvVar(property)] }).toEqual({ node: i + 1, property, value });
      }
      expect(env.KAFKA_NODE_ID).toBe(String(local.configs[i]!.nodeId));
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
      expect(env.KAFKA_HEAP_OPTS).toBe(CLUSTER_NODE_JVM_OPTS.join(' '));
    });
    expect(new Set(envs.map((env) => env.CLUSTER_ID)).size).toBe(1);
  });

  it('replicates 3 times with min ISR 2, in the local nodes too', () => {
    for (const node of local.configs) {
      const props = properties(serverProperties(node));
      expect(props).toMatchObject(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS, 3));
      expect(props).toMatchObject({ 'default.replication.factor': '3', 'min.insync.replicas': '2', 'offsets.topic.replication.factor': '3' });
      expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097');
      expect(props['node.id']).toBe(String(node.nodeId));
    }
  });

  it('offers the nodes to the host on the ports of the local cluster (KAFKA_BROKERS=localhost:9092,localhost:9094,localhost:9096)', () => {
    expect(local.configs.map((c) => `localhost:${c.port}`)).toEqual(localBootstrap(3, {}));
    clusterNodes.forEach((node, i) => {
      const port = local.configs[i]!.port;
      expect(node.ports).toEqual([`127.0.0.1:${port}:9092`]);
      expect(String((node.environment as Obj).KAFKA_ADVERTISED_LISTENERS)).toContain(`PLAINTEXT_HOST://localhost:${port}`);
    });
  });

  it('creates every contract topic with replication factor 3 and min ISR 2 in kafka-cluster-init, once all nodes are healthy', () => {
    expect(String(clusterInitEnv.TOPICS).split(/\s+/)).toEqual([...ALL_TOPICS]);
    expect(clusterInitEnv).toMatchObject({ PARTITIONS: String(DEFAULT_TOPIC_PARTITIONS), REPLICATION_FACTOR: '3', MIN_INSYNC_REPLICAS: '2' });
    expect(clusterInit.command).toEqual(init.command);
    expect(Object.keys(clusterInit.depends_on as Obj)).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
  });
});

describe('the "secure" profile of docker-compose.kafka.yml matches `infra:up -- --secure`', () => {
  const setup = services['kafka-secure-setup']!;
  const broker = services['kafka-secure']!;
  const brokerEnv = broker.environment as Obj;
  const secureInit = services['kafka-secure-init']!;
  const secureInitEnv = secureInit.environment as Obj;
  const startScript = fs.readFileSync(path.join(REPO_ROOT, 'docker', 'kafka-secure', 'start.sh'), 'utf8');
  const material: SecureMaterial = {
    dir: '/secure',
    caFile: '/secure/ca.pem',
    keystore: '/secure/broker.p12',
    truststore: '/secure/truststore.p12',
    storePassword: 'store',
    passwords: { admin: 'a', order: 'o', payment: 'p', notification: 'n' },
  };

  it('runs only under the profile, so that a plain `up` starts what it started before: kafka, kafka-init and postgres', () => {
    for (const service of [setup, broker, secureInit]) {
      expect(service.profiles).toEqual(['secure']);
      expect(service.image).toBe(KAFKA_IMAGE);
    }
    expect(Object.keys(services).filter((name) => services[name]!.profiles === undefined)).toEqual(['kafka', 'kafka-init', 'postgres']);
  });

  it('offers the secured broker to the host on the port of the local secured broker', () => {
    expect(broker.ports).toEqual([`127.0.0.1:${DEFAULT_SECURE_PORT}:${DEFAULT_SECURE_PORT}`]);
    expect(brokerEnv.SECURE_PORT).toBe(String(DEFAULT_SECURE_PORT));
  });

  it('gives the broker the settings every local broker shares (KAFKA_CFG_*), the inter-broker listener being the SASL_SSL one', () => {
    const shared = Object.entries(sharedBrokerSettings(DEFAULT_TOPIC_PARTITIONS)).filter(([property]) => property !== 'inter.broker.listener.name');
    const given = Object.fromEntries(
      Object.entries(brokerEnv)
        .filter(([name]) => name.startsWith('KAFKA_CFG_'))
        .map(([name, value]) => [name.slice('KAFKA_CFG_'.length).toLowerCase().replace(/_/g, '.'), value]),
    );
    expect(given).toEqual(Object.fromEntries(shared));
  });

  it('writes every security setting of the local secured broker into its server.properties (docker/kafka-secure/start.sh)', () => {
    const local = secureBrokerProperties(DEFAULT_SECURE_PORT, 9093, material);
    for (const property of Object.keys(local))
      expect({ property, inStartScript: startScript.includes(`\n${property}=`) }).toEqual({ property, inStartScript: true });
    // The settings that name no file, password or port are the same text.
    const fixed = Object.entries(local).filter(([property, value]) => !/location|password|jaas|listeners$/.test(property) && !value.includes('/secure'));
    for (const [property, value] of fixed) expect(startScript).toContain(`\n${property}=${value}\n`);
    for (const principal of SECURE_PRINCIPALS) expect(startScript).toMatch(new RegExp(`for p in [a-z ]*\\b${principal}\\b`));
  });

  it('creates every contract topic and exactly the per-app ACLs of the local secured broker in kafka-secure-init', () => {
    expect(String(secureInitEnv.TOPICS).split(/\s+/)).toEqual([...ALL_TOPICS]);
    expect(String(secureInitEnv.ACLS).split(/\s+/)).toEqual(APP_ACLS.map((a) => `${a.principal}:${a.operation}:${a.resource}:${a.name}`));
    expect(APP_ACLS.every((a) => a.pattern === 'literal')).toBe(true);
  });
});
