import * as path from 'node:path';
import { kafkaVersion } from './versions';

/** Repository root (this file lives in libs/infra/src). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** Git-ignored state folder of the local infrastructure. */
export const LOCAL_DIR = path.join(REPO_ROOT, '.local');
export const KAFKA_DIR = path.join(LOCAL_DIR, 'kafka');

export function kafkaVersionDir(version: string = kafkaVersion()): string {
  return path.join(KAFKA_DIR, version);
}

/** Folder holding every jar of a Kafka version (broker, tools and their runtime deps). */
export function kafkaLibsDir(version: string = kafkaVersion()): string {
  return path.join(kafkaVersionDir(version), 'libs');
}

/**
 * Per-broker files: `.local/kafka/<name>.{log,pid,properties}` and the data
 * dir `.local/kafka/<version>/data/<name>`. Data is kept per Kafka version:
 * a directory formatted by a newer Kafka cannot be read by an older one, so
 * switching KAFKA_VERSION back and forth never breaks a broker's storage.
 */
export function brokerPaths(name: string, version: string = kafkaVersion()) {
  return {
    dataDir: path.join(kafkaVersionDir(version), 'data', name),
    logFile: path.join(KAFKA_DIR, `${name}.log`),
    pidFile: path.join(KAFKA_DIR, `${name}.pid`),
    propsFile: path.join(KAFKA_DIR, `${name}.properties`),
    /** reload4j config of a 3.x broker. */
    log4jFile: path.join(KAFKA_DIR, `${name}-log4j.properties`),
    /** log4j2 config of a 4.x broker. */
    log4j2File: path.join(KAFKA_DIR, `${name}-log4j2.properties`),
    lockFile: path.join(KAFKA_DIR, `${name}.lock`),
  };
}

export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.kafka.yml');
