import * as path from 'node:path';
import { KAFKA_VERSION } from './versions';

/** Repository root (this file lives in libs/infra/src). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** Git-ignored state folder of the local infrastructure. */
export const LOCAL_DIR = path.join(REPO_ROOT, '.local');
export const KAFKA_DIR = path.join(LOCAL_DIR, 'kafka');

export function kafkaVersionDir(version: string = KAFKA_VERSION): string {
  return path.join(KAFKA_DIR, version);
}

/** Folder holding every jar of the pinned Kafka (broker, tools and their runtime deps). */
export function kafkaLibsDir(version: string = KAFKA_VERSION): string {
  return path.join(kafkaVersionDir(version), 'libs');
}

/** Per-broker files: `.local/kafka/<name>.{log,pid,properties}` and `.local/kafka/data/<name>`. */
export function brokerPaths(name: string) {
  return {
    dataDir: path.join(KAFKA_DIR, 'data', name),
    logFile: path.join(KAFKA_DIR, `${name}.log`),
    pidFile: path.join(KAFKA_DIR, `${name}.pid`),
    propsFile: path.join(KAFKA_DIR, `${name}.properties`),
    log4jFile: path.join(KAFKA_DIR, `${name}-log4j.properties`),
    lockFile: path.join(KAFKA_DIR, `${name}.lock`),
  };
}

export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.kafka.yml');
