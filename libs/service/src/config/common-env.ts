import 'reflect-metadata';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { KafkaClientEnv } from './kafka-client-env';

export { toBool } from './kafka-client-env';

/**
 * Variables every app reads; each property holds its documented default
 * (`.env.example` lists the same). App config classes extend this one; the
 * Kafka connection settings (and their cross-checks) come from KafkaClientEnv,
 * which the command-line tools validate alone.
 */
export class CommonEnv extends KafkaClientEnv {
  /** Partitions handled at once by one instance's consumer. */
  @IsInt() @Min(1) @Max(64) CONSUMER_CONCURRENCY: number = 3;
  /** Handler attempts before a message goes to the dead-letter topic. */
  @IsInt() @Min(1) @Max(100) CONSUMER_MAX_ATTEMPTS: number = 5;
  /** First retry delay of a failing handler, doubled per attempt. */
  @IsInt() @Min(0) @Max(60_000) CONSUMER_RETRY_BACKOFF_MS: number = 200;
  /** Ceiling of the retry delay, and the wait between checks while a dependency is down. */
  @IsInt() @Min(10) @Max(600_000) CONSUMER_MAX_RETRY_BACKOFF_MS: number = 5000;

  /**
   * How consumed messages share database transactions: `batch` (one per run
   * of up to CONSUMER_BATCH_MESSAGES consecutive messages of a partition; a
   * failing message rolls the run back and the ones before it commit without
   * it) or `delivery` (one per message); docs/adr/0016-throughput-levers.md.
   */
  @IsIn(['delivery', 'batch'], { message: 'CONSUMER_UNIT_OF_WORK must be delivery or batch' })
  CONSUMER_UNIT_OF_WORK: 'delivery' | 'batch' = 'batch';
  /** Most messages in one transaction when CONSUMER_UNIT_OF_WORK=batch. */
  @IsInt() @Min(1) @Max(10_000) CONSUMER_BATCH_MESSAGES: number = 100;

  /**
   * Consumer group session: a member that has not heartbeated for this long
   * is dropped and its partitions move. Bounds the group's pause after an
   * instance crashes (eager rebalancing stops every member meanwhile); too
   * short and a long GC pause evicts a healthy member. The broker accepts
   * 6000..1800000 (group.min/max.session.timeout.ms).
   */
  @IsInt() @Min(6000) @Max(300_000) CONSUMER_SESSION_TIMEOUT_MS: number = 10_000;
  /** Heartbeat period; at most a third of the session timeout. */
  @IsInt() @Min(100) @Max(100_000) CONSUMER_HEARTBEAT_INTERVAL_MS: number = 1000;
  /**
   * How long after start the consumer waits before it joins its group (the
   * HTTP API serves meanwhile). An instance restarted right after a crash
   * that joins at once starts a rebalance the group can only finish when the
   * crashed member's session expires: every other member stops consuming
   * until then (eager rebalancing).
   * Joining after CONSUMER_SESSION_TIMEOUT_MS lets the group drop the dead
   * member first; each rebalance is then short. Costs that much time before
   * a new instance consumes. Default 0 (join at once).
   */
  @IsInt() @Min(0) @Max(300_000) CONSUMER_JOIN_DELAY_MS: number = 0;

  /** Graceful stop, step 1: longest wait for the HTTP requests in flight (then their connections are cut). */
  @IsInt() @Min(0) @Max(600_000) SHUTDOWN_HTTP_DRAIN_MS: number = 10_000;
  /** Step 2: longest wait for the consumer to finish the messages in hand and leave its group. */
  @IsInt() @Min(0) @Max(600_000) SHUTDOWN_CONSUMER_DRAIN_MS: number = 10_000;
  /** Step 3: longest the outbox relay spends publishing what was committed during the drain (the rest goes with the next relay). */
  @IsInt() @Min(0) @Max(600_000) SHUTDOWN_RELAY_FLUSH_MS: number = 5000;

  /** Connections in the app's database pool (HTTP requests, consumer transactions). */
  @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE: number = 10;
  /** Longest one SQL statement may run (PostgreSQL statement_timeout, every app connection); 0 = no limit. */
  @IsInt() @Min(0) @Max(3_600_000) DATABASE_STATEMENT_TIMEOUT_MS: number = 30_000;
  /** Longest a statement waits for a lock (lock_timeout): then 55P03, and the message is tried again, not counted. 0 = no limit. */
  @IsInt() @Min(0) @Max(3_600_000) DATABASE_LOCK_TIMEOUT_MS: number = 5000;
  /** A session idle inside an open transaction for longer than this is ended by the server (idle_in_transaction_session_timeout). 0 = no limit. */
  @IsInt() @Min(0) @Max(3_600_000) DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number = 60_000;
  /** TCP keepalive on every database connection: first probe after this much idle time, so a vanished server is noticed. */
  @IsInt() @Min(1000) @Max(7_200_000) DATABASE_KEEPALIVE_IDLE_MS: number = 10_000;

  /** Deadline of one handler attempt; an attempt still running then counts as failed. 0 = none. */
  @IsInt() @Min(0) @Max(3_600_000) CONSUMER_HANDLER_TIMEOUT_MS: number = 60_000;
  /** A partition whose current message has made no progress for longer than this is reported stuck (health, metric). */
  @IsInt() @Min(1) @Max(86_400) CONSUMER_STUCK_PARTITION_SECONDS: number = 60;
  /**
   * A consumer crash kafkajs does not recover from by itself (a non-retriable
   * error) is restarted by the runtime after this delay (ms), doubled per
   * crash up to CONSUMER_RESTART_MAX_DELAY_MS.
   */
  @IsInt() @Min(0) @Max(600_000) CONSUMER_RESTART_INITIAL_DELAY_MS: number = 1000;
  @IsInt() @Min(0) @Max(3_600_000) CONSUMER_RESTART_MAX_DELAY_MS: number = 30_000;
  /** More crashes than this within CONSUMER_RESTART_WINDOW_SECONDS and the runtime gives up: `/health/live` fails, a supervisor restarts the process. */
  @IsInt() @Min(0) @Max(10_000) CONSUMER_RESTART_MAX: number = 10;
  @IsInt() @Min(1) @Max(86_400) CONSUMER_RESTART_WINDOW_SECONDS: number = 600;

  @IsInt() @Min(1) @Max(10_000) OUTBOX_BATCH_SIZE: number = 500;
  @IsInt() @Min(10) @Max(600_000) OUTBOX_POLL_INTERVAL_MS: number = 1000;
  @IsInt() @Min(1) @Max(1000) OUTBOX_MAX_ATTEMPTS: number = 10;
  /** The active relay's lease (ms): a leader that stops renewing it (frozen, stalled, cut off) loses the leadership this long after its last renewal. */
  @IsInt() @Min(1000) @Max(300_000) OUTBOX_LEASE_MS: number = 15_000;
  /** `/health` reports the outbox down when the oldest unpublished row is older than this (readiness does not depend on it). */
  @IsInt() @Min(1) @Max(86_400) OUTBOX_MAX_PENDING_AGE_SECONDS: number = 60;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'], { message: 'LOG_LEVEL must be one of fatal, error, warn, log, debug, verbose' })
  LOG_LEVEL: string = 'log';

  /** `json` for machines, `pretty` for people. */
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT: 'json' | 'pretty' = 'pretty';

  /**
   * Token of the admin endpoints (`/admin/*`: outbox backlog, parked rows,
   * releasing one): sent as `Authorization: Bearer <token>`. Empty: reads are
   * open and changes are refused. `npm start` generates one for all apps and the console.
   */
  @IsOptional() @IsString() ADMIN_TOKEN?: string;

  /**
   * OTLP/HTTP base URL of a trace collector, e.g. `http://localhost:4318`
   * (spans go to `<url>/v1/traces`). Empty: tracing off.
   */
  @Matches(/^(https?:\/\/\S+)?$/, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be empty (tracing off) or an http(s) URL such as http://localhost:4318' })
  OTEL_EXPORTER_OTLP_ENDPOINT: string = '';
}
