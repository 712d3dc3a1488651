import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import './codecs';
import { logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';

/** How to reach the cluster; the only Kafka settings an app needs to know. */
export interface KafkaConnectionOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** Identifies this process in broker logs and quotas. */
  clientId: string;
  /** TLS on the broker connection: on with the system's CAs (`true`), or with a CA file and optionally a client certificate (mTLS). */
  ssl?: boolean | KafkaTlsFiles;
  /** SASL credentials; absent means no authentication. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Per-request timeout in ms (kafkajs default 30000). */
  requestTimeout?: number;
  /** Connection timeout in ms (kafkajs default 1000). */
  connectionTimeout?: number;
}

/** A connection without its client id: where a helper that names its own clients connects (bootstrap, and TLS/SASL on a secured broker). */
export type KafkaClientSettings = Omit<KafkaConnectionOptions, 'clientId'>;

/** Bootstrap addresses alone (a plain broker) or whole client settings, as a helper's caller gives them. */
export function clientSettings(brokersOrSettings: string[] | KafkaClientSettings): KafkaClientSettings {
  return Array.isArray(brokersOrSettings) ? { brokers: brokersOrSettings } : brokersOrSettings;
}

/** PEM files of a TLS connection to Kafka. */
export interface KafkaTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** kafkajs's `ssl`: the files read once, at configuration time. */
function tlsOptions(ssl: KafkaConnectionOptions['ssl']): KafkaConfig['ssl'] {
  if (typeof ssl !== 'object') return ssl ?? false;
  return {
    ...(ssl.caFile ? { ca: [readFileSync(ssl.caFile, 'utf8')] } : {}),
    ...(ssl.certFile ? { cert: readFileSync(ssl.certFile, 'utf8') } : {}),
    ...(ssl.keyFile ? { key: readFileSync(ssl.keyFile, 'utf8') } : {}),
  };
}

/** Translates our options into a kafkajs configuration. */
export function toKafkaJsConfig(options: KafkaConnectionOptions): KafkaConfig {
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: tlsOptions(options.ssl),
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: options.connectionTimeout ?? 3000,
    requestTimeout: options.requestTimeout ?? 30000,
    logLevel: logLevel.WARN,
    logCreator: kafkaJsLogCreator,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
  };
}

const kafkaJsLogger = new Logger('kafkajs');

/**
 * Said at every producer start because DurableProducer bounds its retries on
 * purpose (a send must fail during an outage so that the outbox relay backs
 * off and can shut down); the producer is replaced after any failure, which
 * keeps idempotence within each producer's life. Not logged.
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer'];

/**
 * kafkajs's own log lines go through the app's logger (JSON or pretty, with
 * the request/message context) instead of raw console JSON. Its ERROR lines
 * are mostly connection retries it recovers from by itself, and the code that
 * gives up says so at its own level, so they are written as warnings.
 */
function kafkaJsLogCreator() {
  // Only ERROR and WARN entries arrive (logLevel.WARN above).
  return ({ namespace, log }: LogEntry) => {
    const { message, broker, groupId, error } = log as { message: string; broker?: string; groupId?: string; error?: string };
    const where = [broker && `broker ${broker}`, groupId && `group ${groupId}`].filter(Boolean).join(', ');
    const line = `[${namespace}] ${message}${error && !message.includes(error) ? `: ${error}` : ''}${where ? ` (${where})` : ''}`;
    if (!EXPECTED_WARNINGS.some((w) => message.startsWith(w))) kafkaJsLogger.warn(line);
  };
}
