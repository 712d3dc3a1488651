import { existsSync } from 'node:fs';
import { InfraError } from './util';
import type { KafkaConnectionOptions } from '@lib/kafka/kafka-config';
import { KafkaClientEnv, kafkaClientSettings } from '@lib/service/config/kafka-client-env';
import { validateEnv } from '@lib/service/config/validate-env';

/** Defaults documented in docs/infrastructure.md and .env.example. */
export const DEFAULT_KAFKA_BROKERS = 'localhost:9092';
export const DEFAULT_TOPIC_PARTITIONS = 6;
/** Runtime URLs: each app's role that may only read and write rows (the apps' config classes have the same defaults). */
export const DEFAULT_DATABASE_URLS = {
  ORDER_DATABASE_URL: 'postgres://order_app:order_app@127.0.0.1:5432/orders',
  PAYMENT_DATABASE_URL: 'postgres://payment_app:payment_app@127.0.0.1:5432/payments',
  NOTIFICATION_DATABASE_URL: 'postgres://notification_app:notification_app@127.0.0.1:5432/notifications',
  /** The ops console's own database (dead letters it read, operator actions); an operator's tool, one role. */
  CONSOLE_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/console',
} as const;

/** Migration URLs: each app's role that owns its schema, used while the runtime URL is the default one. */
export const DEFAULT_MIGRATION_DATABASE_URLS = {
  ORDER_DATABASE_URL: 'postgres://order_owner:order_owner@127.0.0.1:5432/orders',
  PAYMENT_DATABASE_URL: 'postgres://payment_owner:payment_owner@127.0.0.1:5432/payments',
  NOTIFICATION_DATABASE_URL: 'postgres://notification_owner:notification_owner@127.0.0.1:5432/notifications',
  CONSOLE_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/console',
} as const;

export type DatabaseUrlVar = keyof typeof DEFAULT_DATABASE_URLS;

/**
 * The migration URL of an app (`ORDER_MIGRATION_DATABASE_URL` for
 * `ORDER_DATABASE_URL`): as set; else the owner role's default URL while the
 * runtime URL is the default; else the runtime URL itself (one URL for both,
 * e.g. a superuser on a laptop). The apps apply the same rule.
 */
export function migrationDatabaseUrl(variable: DatabaseUrlVar, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[variable.replace('_DATABASE_URL', '_MIGRATION_DATABASE_URL')]?.trim();
  if (given) return given;
  const runtime = databaseUrls(env)[variable];
  return runtime === DEFAULT_DATABASE_URLS[variable] ? DEFAULT_MIGRATION_DATABASE_URLS[variable] : runtime;
}

/** `KAFKA_BROKERS` (comma separated), default `localhost:9092`. */
export function kafkaBrokers(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.KAFKA_BROKERS?.trim() || DEFAULT_KAFKA_BROKERS;
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/** `KAFKA_TOPIC_PARTITIONS`, default 6. */
export function topicPartitions(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAFKA_TOPIC_PARTITIONS?.trim();
  if (!raw) return DEFAULT_TOPIC_PARTITIONS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new Error(`KAFKA_TOPIC_PARTITIONS must be an integer between 1 and 1000, got "${raw}"`);
  }
  return n;
}

/** The app (and console) database URLs, from env or their defaults. */
export function databaseUrls(env: NodeJS.ProcessEnv = process.env): Record<DatabaseUrlVar, string> {
  const out = {} as Record<DatabaseUrlVar, string>;
  for (const key of Object.keys(DEFAULT_DATABASE_URLS) as DatabaseUrlVar[]) {
    out[key] = env[key]?.trim() || DEFAULT_DATABASE_URLS[key];
  }
  return out;
}

/**
 * How a command-line tool connects to Kafka (`npm run dlq`, `infra:*`, the
 * bin/ wrappers' client config): `KAFKA_BROKERS` and the TLS/SASL settings
 * of `env` (after `.env` is loaded), validated and translated exactly as the
 * apps do (libs/service's KafkaClientEnv and kafkaClientSettings). Throws
 * InvalidConfigError, one line per bad variable, naming it.
 */
export function toolKafkaConnection(clientId: string, env: NodeJS.ProcessEnv = process.env): KafkaConnectionOptions {
  return { ...kafkaClientSettings(validateEnv(KafkaClientEnv, env)), clientId };
}

/** Kafka connection options for infra tooling (our own clientId): {@link toolKafkaConnection}, on `brokers` when given (e.g. the nodes of a local cluster). */
export function infraKafkaConnection(brokers?: string[], clientId = 'infra'): KafkaConnectionOptions {
  const connection = toolKafkaConnection(clientId);
  return brokers ? { ...connection, brokers } : connection;
}

/** Default client port of node 1 of the local Kafka; node i listens on it + 2(i-1), its controller on the next port. */
export const DEFAULT_KAFKA_PORT = 9092;

/**
 * `KAFKA_PORT`: client port of the local Kafka infra:up starts (default
 * 9092; a cluster uses it and the next even ports). For a machine where 9092
 * belongs to something else; set KAFKA_BROKERS to match.
 */
export function mainPort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAFKA_PORT?.trim();
  if (!raw) return DEFAULT_KAFKA_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 65000) throw new Error(`KAFKA_PORT must be a port between 1024 and 65000, got "${raw}"`);
  return n;
}

/** Largest local cluster infra:up starts. */
export const MAX_CLUSTER_SIZE = 9;

/**
 * `KAFKA_CLUSTER_SIZE`: nodes of the local Kafka that infra:up starts
 * (1: a single broker, the default; 3: a cluster with replication factor 3
 * and min ISR 2). Undefined when unset: infra:up then keeps what runs.
 */
export function clusterSize(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.KAFKA_CLUSTER_SIZE?.trim();
  if (!raw) return undefined;
  return parseClusterSize(raw, 'KAFKA_CLUSTER_SIZE');
}

/** A cluster size given as text (`--brokers 3`, KAFKA_CLUSTER_SIZE=3), validated. */
export function parseClusterSize(raw: string, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLUSTER_SIZE) {
    throw new Error(`${what} must be an integer between 1 and ${MAX_CLUSTER_SIZE} (1: single broker, 3: cluster), got "${raw}"`);
  }
  return n;
}

/** What to set KAFKA_BROKERS to for the local deployment of `nodes` nodes: `localhost:9092[,localhost:9094,…]`. */
export function localBootstrap(nodes: number, env: NodeJS.ProcessEnv = process.env): string[] {
  return Array.from({ length: nodes }, (_, i) => `localhost:${mainPort(env) + 2 * i}`);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1']);

/** True when the brokers are (some of) the local deployment that infra:up starts: loopback, ports 9092, 9094, … (from KAFKA_PORT). */
export function isLocalMainBroker(brokers: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const local = new Set(localBootstrap(MAX_CLUSTER_SIZE, env).map((b) => b.split(':')[1]));
  return (
    brokers.length > 0 &&
    brokers.some((b) => b.endsWith(`:${mainPort(env)}`)) &&
    brokers.every((b) => {
      const i = b.lastIndexOf(':');
      return LOOPBACK.has(b.slice(0, i)) && local.has(b.slice(i + 1));
    })
  );
}

/** Loads `.env` from the current directory when there is one; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/** HTTP ports of the apps when `<APP>_PORT` is not set. */
export const DEFAULT_PORTS = { order: 3001, payment: 3002, notification: 3003 } as const;

export interface ParsedDbUrl {
  database: string;
  host: string;
  port: number;
  /** Same server, user and password, but the `postgres` maintenance database. */
  adminUrl: string;
}

export function parseDatabaseUrl(url: string): ParsedDbUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InfraError(`not a valid database URL: ${url}`);
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new InfraError(`not a postgres:// URL: ${url}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new InfraError(`database URL names no database: ${url}`);
  const admin = new URL(u.toString());
  admin.pathname = '/postgres';
  return { database, host: u.hostname || '127.0.0.1', port: Number(u.port || 5432), adminUrl: admin.toString() };
}
