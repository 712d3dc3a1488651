import type { KafkaConfig, SASLOptions } from 'kafkajs';

/** How to reach the cluster; the only Kafka settings an app needs to know. */
export interface KafkaConnectionOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** Identifies this process in broker logs and quotas. */
  clientId: string;
  /** TLS on the broker connection. */
  ssl?: boolean;
  /** SASL credentials; absent means no authentication. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Per-request timeout in ms (kafkajs default 30000). */
  requestTimeout?: number;
  /** Connection timeout in ms (kafkajs default 1000). */
  connectionTimeout?: number;
}

/** Translates our options into a kafkajs configuration. */
export function toKafkaJsConfig(options: KafkaConnectionOptions): KafkaConfig {
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl ?? false,
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: options.connectionTimeout ?? 3000,
    requestTimeout: options.requestTimeout ?? 30000,
    // kafkajs logs through its own logger; our callers log what matters.
    logLevel: 1,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
  };
}
