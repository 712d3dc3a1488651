import 'reflect-metadata';
import { accessSync, constants, statSync } from 'node:fs';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import type { KafkaClientSettings } from '@lib/kafka/kafka-config';

// Every property is annotated with its type: under isolated-module compilation
// (ts-node, ts-jest) an inferred type emits no metadata and nothing would be converted.
// Transforms read the raw value (`obj[key]`): implicit conversion has already
// turned the string "false" into `true` by the time `value` reaches them.
type Raw = { obj: Record<string, unknown>; key: string; value: unknown };
const raw = ({ obj, key, value }: Raw) => (key in obj ? obj[key] : value);
const toList = (params: Raw) => {
  const v = raw(params);
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;
};
/** `true`/`1`/`yes` (any case) → true; for boolean variables of the apps' config classes. */
export const toBool = (params: Raw) => {
  const v = raw(params);
  return typeof v === 'string' ? ['1', 'true', 'yes'].includes(v.toLowerCase()) : v;
};

/**
 * How to reach Kafka: the variables every app reads (CommonEnv extends this
 * class) and every command-line tool too (`npm run dlq`, `infra:status`, the
 * bin/ wrappers, through libs/infra's `toolKafkaConnection`), validated by
 * the same rules with `validateEnv`, so a setting that stops an app stops a
 * tool with the same sentence.
 */
export class KafkaClientEnv {
  /** Comma-separated `host:port` list. */
  @Transform(toList)
  @Matches(/^[^\s:,]+:\d{1,5}$/, { each: true, message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS: string[] = ['localhost:9092'];

  @IsBoolean()
  @Transform(toBool)
  KAFKA_SSL: boolean = false;

  /** PEM file of the CA that signed the brokers' certificates (default: the system's CAs). Needs KAFKA_SSL=true. */
  @IsOptional() @IsString() KAFKA_SSL_CA_FILE?: string;
  /** PEM client certificate and its key, for brokers that authenticate clients by certificate (mTLS); both or neither. */
  @IsOptional() @IsString() KAFKA_SSL_CERT_FILE?: string;
  @IsOptional() @IsString() KAFKA_SSL_KEY_FILE?: string;

  @IsOptional()
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'], { message: 'KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512' })
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  @IsOptional() @IsString() KAFKA_SASL_USERNAME?: string;
  @IsOptional() @IsString() KAFKA_SASL_PASSWORD?: string;

  /** SASL/PLAIN sends the password as is: refused without KAFKA_SSL=true unless this says otherwise (a broker on loopback, a test). */
  @IsBoolean() @Transform(toBool) KAFKA_SASL_ALLOW_PLAINTEXT: boolean = false;

  /**
   * Settings that are only valid together (validateEnv adds these to the
   * per-variable problems): Kafka security cannot be half-set.
   */
  settingProblems(): string[] {
    return kafkaSecurityProblems(this);
  }
}

/**
 * The kafkajs-facing connection settings of a validated environment: TLS
 * with the CA and client certificate files when given, SASL when a mechanism
 * is. validateEnv has refused half-set security settings, so what is set
 * here is complete.
 */
export function kafkaClientSettings(env: KafkaClientEnv): KafkaClientSettings {
  return {
    brokers: env.KAFKA_BROKERS,
    ssl:
      env.KAFKA_SSL && (env.KAFKA_SSL_CA_FILE || env.KAFKA_SSL_CERT_FILE)
        ? { caFile: env.KAFKA_SSL_CA_FILE, certFile: env.KAFKA_SSL_CERT_FILE, keyFile: env.KAFKA_SSL_KEY_FILE }
        : env.KAFKA_SSL,
    sasl: env.KAFKA_SASL_MECHANISM
      ? { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' }
      : undefined,
  };
}

/** What is wrong with a set of Kafka security settings, one sentence per problem, each naming the variable to fix. */
export function kafkaSecurityProblems(
  env: Pick<
    KafkaClientEnv,
    | 'KAFKA_SSL'
    | 'KAFKA_SSL_CA_FILE'
    | 'KAFKA_SSL_CERT_FILE'
    | 'KAFKA_SSL_KEY_FILE'
    | 'KAFKA_SASL_MECHANISM'
    | 'KAFKA_SASL_USERNAME'
    | 'KAFKA_SASL_PASSWORD'
    | 'KAFKA_SASL_ALLOW_PLAINTEXT'
  >,
): string[] {
  const problems: string[] = [];
  const mechanism = env.KAFKA_SASL_MECHANISM;
  if (mechanism) {
    if (!env.KAFKA_SASL_USERNAME) problems.push(`KAFKA_SASL_USERNAME must be set when KAFKA_SASL_MECHANISM is ${mechanism} (not set)`);
    if (!env.KAFKA_SASL_PASSWORD) problems.push(`KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is ${mechanism} (not set)`);
    if (mechanism === 'plain' && !env.KAFKA_SSL && !env.KAFKA_SASL_ALLOW_PLAINTEXT) {
      problems.push(
        'KAFKA_SSL must be true with KAFKA_SASL_MECHANISM=plain, which sends the password as is (set KAFKA_SASL_ALLOW_PLAINTEXT=true to allow it without TLS)',
      );
    }
  } else if (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD) {
    problems.push('KAFKA_SASL_MECHANISM must be set (plain, scram-sha-256 or scram-sha-512) when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is (not set)');
  }
  for (const variable of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
    const file = env[variable];
    if (!file) continue;
    if (!env.KAFKA_SSL) problems.push(`KAFKA_SSL must be true when ${variable} is set`);
    if (!isReadableFile(file)) problems.push(`${variable} must name a readable file (got ${JSON.stringify(file)})`);
  }
  if (!!env.KAFKA_SSL_CERT_FILE !== !!env.KAFKA_SSL_KEY_FILE) {
    problems.push(
      env.KAFKA_SSL_CERT_FILE
        ? 'KAFKA_SSL_KEY_FILE must be set with KAFKA_SSL_CERT_FILE (not set)'
        : 'KAFKA_SSL_CERT_FILE must be set with KAFKA_SSL_KEY_FILE (not set)',
    );
  }
  return problems;
}

function isReadableFile(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
