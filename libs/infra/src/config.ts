import { existsSync } from 'node:fs';
import type { KafkaConnectionOptions } from '@lib/kafka/kafka-config';

/** Defaults documented in docs/infrastructure.md and .env.example. */
export const DEFAULT_KAFKA_BROKERS = 'localhost:9092';
export const DEFAULT_TOPIC_PARTITIONS = 6;
export const DEFAULT_DATABASE_URLS = {
  ORDER_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders',
  PAYMENT_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payments',
  NOTIFICATION_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/notifications',
} as const;

export type DatabaseUrlVar = keyof typeof DEFAULT_DATABASE_URLS;

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

/** The three app database URLs, from env or their defaults. */
export function databaseUrls(env: NodeJS.ProcessEnv = process.env): Record<DatabaseUrlVar, string> {
  const out = {} as Record<DatabaseUrlVar, string>;
  for (const key of Object.keys(DEFAULT_DATABASE_URLS) as DatabaseUrlVar[]) {
    out[key] = env[key]?.trim() || DEFAULT_DATABASE_URLS[key];
  }
  return out;
}

/** Kafka connection options for infra tooling (our own clientId). */
export function infraKafkaConnection(brokers: string[] = kafkaBrokers(), clientId = 'infra'): KafkaConnectionOptions {
  return { brokers, clientId };
}

const LOCAL_MAIN_BROKERS = new Set(['localhost:9092', '127.0.0.1:9092']);

/** True when the brokers are exactly our local main broker (the one infra:up starts). */
export function isLocalMainBroker(brokers: string[]): boolean {
  return brokers.length > 0 && brokers.every((b) => LOCAL_MAIN_BROKERS.has(b));
}

/** Loads `.env` from the current directory when there is one; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
