import { contractTopicConfigs, replicationFor } from '../src/broker-settings';
import { clusterSize, isLocalMainBroker, localBootstrap, mainPort } from '../src/config';
import { DEFAULT_KAFKA_VERSION, isKafka4, kafkaVersion } from '../src/versions';

describe('choosing the local Kafka', () => {
  it('runs the pinned 4.x default unless KAFKA_VERSION names another release', () => {
    expect(DEFAULT_KAFKA_VERSION).toMatch(/^4\.\d+\.\d+$/);
    expect(kafkaVersion({})).toBe(DEFAULT_KAFKA_VERSION);
    expect(kafkaVersion({ KAFKA_VERSION: ' 3.9.1 ' })).toBe('3.9.1');
    expect(() => kafkaVersion({ KAFKA_VERSION: 'latest' })).toThrow(/KAFKA_VERSION must be an Apache Kafka release 3\.7\.0 or later/);
    expect(() => kafkaVersion({ KAFKA_VERSION: '2.8.2' })).toThrow(/3\.7\.0 or later/);
  });

  it('tells the version lines apart: log4j2 and org.apache.kafka.tools from 4.0 on', () => {
    expect([isKafka4('3.9.1'), isKafka4('4.0.0'), isKafka4('4.4.0'), isKafka4('5.0.0')]).toEqual([false, true, true, true]);
  });

  it('reads KAFKA_CLUSTER_SIZE as a node count, leaving the choice open when unset', () => {
    expect(clusterSize({})).toBeUndefined();
    expect(clusterSize({ KAFKA_CLUSTER_SIZE: '3' })).toBe(3);
    expect(() => clusterSize({ KAFKA_CLUSTER_SIZE: 'three' })).toThrow(/KAFKA_CLUSTER_SIZE must be an integer between 1 and 9/);
    expect(() => clusterSize({ KAFKA_CLUSTER_SIZE: '0' })).toThrow(/between 1 and 9/);
  });

  it('lists the bootstrap addresses of the local cluster and recognises them as local', () => {
    const env = {}; // KAFKA_PORT unset, whatever the test run's environment says
    expect(localBootstrap(1, env)).toEqual(['localhost:9092']);
    expect(localBootstrap(3, env)).toEqual(['localhost:9092', 'localhost:9094', 'localhost:9096']);
    expect(isLocalMainBroker(['localhost:9092'], env)).toBe(true);
    expect(isLocalMainBroker(['127.0.0.1:9092', 'localhost:9094', 'localhost:9096'], env)).toBe(true);
    expect(isLocalMainBroker(['localhost:29092'], env)).toBe(false);
    expect(isLocalMainBroker(['kafka.example:9092'], env)).toBe(false);
    expect(isLocalMainBroker(['localhost:9092', 'kafka.example:9094'], env)).toBe(false);
  });

  it('moves the local Kafka to KAFKA_PORT when 9092 belongs to something else', () => {
    const env = { KAFKA_PORT: '39092' };
    expect(mainPort({})).toBe(9092);
    expect(mainPort(env)).toBe(39092);
    expect(localBootstrap(3, env)).toEqual(['localhost:39092', 'localhost:39094', 'localhost:39096']);
    expect(isLocalMainBroker(['localhost:39092'], env)).toBe(true);
    expect(isLocalMainBroker(['localhost:9092'], env)).toBe(false);
    expect(() => mainPort({ KAFKA_PORT: '80' })).toThrow(/KAFKA_PORT must be a port between 1024 and 65000/);
  });

  it('replicates three times with min ISR 2 on three nodes or more, once on a single broker', () => {
    expect(replicationFor(1)).toEqual({ replicationFactor: 1, minInSyncReplicas: 1 });
    expect(replicationFor(2)).toEqual({ replicationFactor: 2, minInSyncReplicas: 1 });
    expect(replicationFor(3)).toEqual({ replicationFactor: 3, minInSyncReplicas: 2 });
    expect(replicationFor(5)).toEqual({ replicationFactor: 3, minInSyncReplicas: 2 });
    expect(contractTopicConfigs(3)).toEqual({ 'min.insync.replicas': '2' });
  });
});
