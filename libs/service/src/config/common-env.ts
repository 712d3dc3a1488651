import 'reflect-metadata';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

// Every property is annotated with its type: under isolated-module compilation
// (ts-node, ts-jest) an inferred type emits no metadata and nothing would be converted.
// Transforms read the raw value (`obj[key]`): implicit conversion has already
// turned the string "false" into `true` by the time `value` reaches them.
type Raw = { obj: Record<string, unknown>; key: string; value: unknown };
const raw = ({ obj, key, value }: Raw) => (key in obj ? obj[key] : value);
const toList = (params: Raw) => {
  const v = raw(params);
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
};
const toBool = (params: Raw) => {
  const v = raw(params);
  return typeof v === 'string' ? ['1', 'true', 'yes'].includes(v.toLowerCase()) : v;
};

/**
 * Variables every app reads; each property holds its documented default
 * (`.env.example` lists the same). App config classes extend this one.
 */
export class CommonEnv {
  /** Comma-separated `host:port` list. */
  @Transform(toList)
  @Matches(/^[^\s:,]+:\d{1,5}$/, { each: true, message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS: string[] = ['localhost:9092'];

  @IsBoolean()
  @Transform(toBool)
  KAFKA_SSL: boolean = false;

  @IsOptional()
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'], { message: 'KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512' })
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  @IsOptional() @IsString() KAFKA_SASL_USERNAME?: string;
  @IsOptional() @IsString() KAFKA_SASL_PASSWORD?: string;

  /** Partitions handled at once by one instance's consumer. */
  @IsInt() @Min(1) @Max(64) CONSUMER_CONCURRENCY: number = 3;
  /** Handler attempts before a message goes to the dead-letter topic. */
  @IsInt() @Min(1) @Max(100) CONSUMER_MAX_ATTEMPTS: number = 5;
  /** First retry delay of a failing handler, doubled per attempt. */
  @IsInt() @Min(0) @Max(60_000) CONSUMER_RETRY_BACKOFF_MS: number = 200;
  /** Ceiling of the retry delay, and the wait between checks while a dependency is down. */
  @IsInt() @Min(10) @Max(600_000) CONSUMER_MAX_RETRY_BACKOFF_MS: number = 5000;

  /**
   * How consumed messages share database transactions: `delivery` (one per
   * message) or `batch` (one per run of up to CONSUMER_BATCH_MESSAGES messages
   * of a partition, a savepoint per message; docs/adr/XXXX-throughput-levers.md).
   */
  @IsIn(['delivery', 'batch'], { message: 'CONSUMER_UNIT_OF_WORK must be delivery or batch' })
  CONSUMER_UNIT_OF_WORK: 'delivery' | 'batch' = 'delivery';
  /** Most messages in one transaction when CONSUMER_UNIT_OF_WORK=batch. */
  @IsInt() @Min(1) @Max(10_000) CONSUMER_BATCH_MESSAGES: number = 100;

  /** Connections in the app's database pool (HTTP requests, consumer transactions). */
  @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE: number = 10;

  @IsInt() @Min(1) @Max(10_000) OUTBOX_BATCH_SIZE: number = 500;
  @IsInt() @Min(10) @Max(600_000) OUTBOX_POLL_INTERVAL_MS: number = 1000;
  @IsInt() @Min(1) @Max(1000) OUTBOX_MAX_ATTEMPTS: number = 10;
  /** Readiness fails when the oldest unpublished outbox row is older than this. */
  @IsInt() @Min(1) @Max(86_400) OUTBOX_MAX_PENDING_AGE_SECONDS: number = 60;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'], { message: 'LOG_LEVEL must be one of fatal, error, warn, log, debug, verbose' })
  LOG_LEVEL: string = 'log';

  /** `json` for machines, `pretty` for people. */
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT: 'json' | 'pretty' = 'pretty';

  /**
   * OTLP/HTTP base URL of a trace collector, e.g. `http://localhost:4318`
   * (spans go to `<url>/v1/traces`). Empty: tracing off.
   */
  @Matches(/^(https?:\/\/\S+)?$/, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be empty (tracing off) or an http(s) URL such as http://localhost:4318' })
  OTEL_EXPORTER_OTLP_ENDPOINT: string = '';
}
