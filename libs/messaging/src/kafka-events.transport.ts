import { AppName, EventEnvelope } from '@lib/events';
import { ConsumedMessage, ConsumerRunner, KafkaConnectionOptions, PartitionInWork, ProcessingControl, RestartPolicy } from '@lib/kafka';
import { withLogContext } from '@lib/logging';
import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DataSource } from 'typeorm';
import { ConsumerPipeline, EventHandler } from './consumer-pipeline';
import { ConsumeOutcome, ConsumerObserver, ConsumerStatus } from './consumer-status';
import { DeadLetterSink, KafkaDeadLetterSink } from './dead-letter';
import { KafkaEventContext } from './event-context';
import { FAILURE_CLASSES, FailureClass } from './policies/failure-classes';
import { InboxGuard } from './policies/inbox.guard';
import { RetryPolicy } from './policies/retry.policy';
import { TransactionPerBatch, TransactionPerDelivery } from './unit-of-work';

export interface EventsTransportOptions {
  app: AppName;
  kafka: KafkaConnectionOptions;
  /** Consumer group; one per app, shared by its instances. Default: the app name. */
  groupId?: string;
  /**
   * Prepended to every subscribed topic: a handler for `order.created` reads
   * `<topicPrefix>order.created`. Default '' (topic = event type, the
   * contract). For isolated runs on a shared cluster (tests, namespaced
   * environments); the event's `type` must still equal the unprefixed name.
   */
  topicPrefix?: string;
  /** Partitions handled at once (order is kept within a partition). Default 3. */
  partitionsConsumedConcurrently?: number;
  /** Handler attempts before the message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to `maxRetryBackoffMs`. Defaults 200 / 5000 ms. */
  retryBackoffMs?: number;
  /** Also the pause between tries while a dependency is down. */
  maxRetryBackoffMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How failures are told apart (wait / retry / dead-letter), first match wins. Default {@link FAILURE_CLASSES}. */
  failureClasses?: readonly FailureClass[];
  /** Where messages go that cannot be handled. Default: `<app>.dlq` on the same cluster (closed with the transport). */
  deadLetters?: DeadLetterSink;
  /**
   * Look each event up in the inbox before its handler runs, so that a
   * redelivery does not repeat the handler's first phase (e.g. a gateway
   * call). One read per message; the inbox insert in the transaction stays
   * the guard either way. Default true.
   */
  duplicatePrecheck?: boolean;
  /**
   * How deliveries share database transactions. 'delivery' (default): one
   * transaction per message. 'batch': one transaction for up to
   * `maxBatchMessages` consecutive messages of a partition as fetched, the
   * inbox rows in one statement; a failing delivery rolls the batch back, the
   * ones before it commit again without it, and it is then retried or
   * dead-lettered alone as in 'delivery' mode (docs/adr/0016-throughput-levers.md).
   */
  unitOfWork?: 'delivery' | 'batch';
  /** Most messages in one batch transaction. Default 100. */
  maxBatchMessages?: number;
  /** Told about every outcome as it happens (metrics). */
  observer?: ConsumerObserver;
  /**
   * Deadline of one handler attempt (phase 1, the unit of work, after-commit
   * hooks). An attempt still running then counts as failed (a handler error:
   * retried, then dead-lettered); its work can no longer commit once the
   * database's statement timeout ends it. Default 60000 ms; 0 = none.
   */
  handlerTimeoutMs?: number;
  /** A partition whose current message is in work for longer than this is reported stuck (health, metric). Default 60000 ms. */
  stuckPartitionMs?: number;
  /** How a crashed consumer is restarted, and when the runner gives up (state 'failed'). Default {@link DEFAULT_RESTART_POLICY}. */
  restart?: Partial<RestartPolicy>;
}

export type { ConsumeOutcome, ConsumerObserver };

/** Counters and state for readiness and metrics. */
export interface ConsumerStats {
  /** 'failed' means crashed and not restartable: liveness fails. */
  state: string;
  lastError: string | null;
  /** Restarts by the runtime after crashes kafkajs does not recover from, since the start (what CONSUMER_RESTART_MAX counts). */
  restarts: number;
  /** Crashes kafkajs restarted by itself (retriable causes), since the start. */
  kafkajsRestarts: number;
  /** Partitions this instance holds, as `topic[partition]` (empty while not joined). */
  assigned: string[];
  /** Partitions with no progress for longer than `stuckPartitionMs`, longest first. */
  stuckPartitions: (PartitionInWork & { forMs: number })[];
  /** Set while the consumer waits for a dependency (database, broker, gateway) to come back. */
  waitingFor: string | null;
  counts: Record<string, Record<ConsumeOutcome, number>>;
}

/**
 * A Nest transport strategy over our Kafka consumer runtime. Apps write
 * handlers the Nest way — `@EventPattern(Topics.OrderCreated)` with
 * `@Payload() event` and `@Ctx() ctx: KafkaEventContext` — in two phases:
 * the method itself runs with no transaction open, and hands what must
 * commit with the inbox row to `ctx.inTransaction(tx => …)`. Every handler
 * gets, without writing a line for it (each step a policy of its own, composed
 * by {@link ConsumerPipeline}):
 *
 * 1. parsing and validation by `@lib/events`; a message that fails goes
 *    straight to `<app>.dlq` with the reason, one warning, and the consumer
 *    moves on (Nest's own Kafka transport would retry it forever); so does an
 *    event on a topic that is not its type's;
 * 2. the inbox: a cheap pre-check before the handler, and the (consumer, event
 *    id) row inserted in the transaction that runs the handler's work; a
 *    duplicate commits nothing and is counted;
 * 3. failures classified by a table (`failureClasses`): bounded retries with
 *    backoff, then the dead-letter topic with the attempt count; while a
 *    message waits for its retry only its partition is paused;
 * 4. waiting, not failing, while the database, the broker or a dependency is
 *    down: no attempt counted, no dead letter, no offset committed;
 * 5. offsets committed (`offset + 1`) only after the transaction committed.
 */
export class KafkaEventsTransport extends Server implements CustomTransportStrategy {
  private readonly log = new Logger('KafkaEventsTransport');
  /** The consumer group, which is also the inbox's consumer key. */
  readonly groupId: string;
  private readonly topicPrefix: string;
  private runner: ConsumerRunner | null = null;
  private readonly deadLetters: DeadLetterSink;
  private readonly ownsDeadLetters: boolean;
  private readonly consumerStatus: ConsumerStatus;
  private warnedUnfiltered = false;

  constructor(
    private readonly options: EventsTransportOptions,
    private readonly dataSource: DataSource,
  ) {
    super();
    this.groupId = options.groupId ?? options.app;
    this.topicPrefix = options.topicPrefix ?? '';
    this.ownsDeadLetters = !options.deadLetters;
    this.deadLetters =
      options.deadLetters ??
      new KafkaDeadLetterSink({ app: options.app, groupId: this.groupId, kafka: { ...options.kafka, clientId: `${options.kafka.clientId}-dlq` } });
    this.consumerStatus = new ConsumerStatus(options.observer);
  }

  /** Topics with a registered `@EventPattern` handler (with the topic prefix, if any). */
  topics(): string[] {
    return [...this.messageHandlers.keys()].map((pattern) => this.topicPrefix + pattern);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const pipeline = this.pipeline();
      this.runner = new ConsumerRunner(this.options.kafka, {
        groupId: this.groupId,
        topics: this.topics(),
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
        sessionTimeoutMs: this.options.sessionTimeoutMs ?? 30_000,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 3000,
        fromBeginning: true,
        restart: this.options.restart,
      });
      // Every log line written while a message is handled names its topic.
      const batch =
        this.options.unitOfWork === 'batch'
          ? {
              maxMessages: this.options.maxBatchMessages ?? 100,
              process: (messages: ConsumedMessage[], control: ProcessingControl) =>
                withLogContext({ topic: messages[0].topic }, () => pipeline.processBatch(messages, control)),
            }
          : undefined;
      await this.runner.start((message, control) => withLogContext({ topic: message.topic }, () => pipeline.process(message, control)), batch);
      this.log.log(`consumer group "${this.groupId}" subscribed to ${this.topics().join(', ')}`);
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
    if (this.ownsDeadLetters) await this.deadLetters.close();
  }

  on(): void {
    throw new Error('KafkaEventsTransport has no events to listen to; read stats() instead');
  }

  unwrap<T>(): T {
    return this.runner as T;
  }

  stats(): ConsumerStats {
    const status = this.runner?.status() ?? { state: 'idle', lastError: null, restarts: 0, kafkajsRestarts: 0, assigned: [] };
    const stuckPartitions = this.runner?.stuckPartitions(this.options.stuckPartitionMs ?? 60_000) ?? [];
    return { ...status, stuckPartitions, waitingFor: this.consumerStatus.waitingFor, counts: this.consumerStatus.snapshot() };
  }

  /** The consumer's steps, from the options; see ConsumerPipeline for how they fit together. */
  private pipeline(): ConsumerPipeline {
    const inbox = new InboxGuard(this.groupId);
    const maxRetryBackoffMs = this.options.maxRetryBackoffMs ?? 5000;
    // Looked up once per topic: Nest's lookup first tries the pattern as JSON, and a topic name throws (an
    // exception with its stack trace per message). The handlers are all registered before the consumer starts.
    const handlers = new Map<string, EventHandler | undefined>();
    return new ConsumerPipeline({
      app: this.options.app,
      groupId: this.groupId,
      topicPrefix: this.topicPrefix,
      handlerFor: (pattern) => {
        if (!handlers.has(pattern)) {
          const handler = this.getHandlerByPattern(pattern);
          handlers.set(pattern, handler ? (event, ctx) => this.invoke(handler, event, ctx) : undefined);
        }
        return handlers.get(pattern);
      },
      inbox,
      duplicatePrecheck: this.options.duplicatePrecheck === false ? null : this.dataSource,
      unitOfWork: new TransactionPerDelivery(this.dataSource, inbox),
      batchUnitOfWork: new TransactionPerBatch(this.dataSource, inbox),
      failureClasses: this.options.failureClasses ?? FAILURE_CLASSES,
      retry: new RetryPolicy({ maxAttempts: this.options.maxAttempts ?? 5, backoffMs: this.options.retryBackoffMs ?? 200, maxBackoffMs: maxRetryBackoffMs }),
      deadLetters: this.deadLetters,
      waitMs: maxRetryBackoffMs,
      attemptTimeoutMs: this.options.handlerTimeoutMs ?? 60_000,
      status: this.consumerStatus,
    });
  }

  /** Calls a handler through Nest (filters, interceptors), waiting for whatever it returns to finish. */
  private async invoke(handler: MessageHandler, event: EventEnvelope, ctx: KafkaEventContext): Promise<void> {
    try {
      await lastValueFrom(this.transformToObservable(await handler(event, ctx)), { defaultValue: undefined });
    } catch (error) {
      this.warnIfUnfiltered(error);
      throw error;
    }
  }

  /**
   * Nest's default RPC filter replaces every error with this object; then a
   * database outage looks like a handler bug and would be dead-lettered.
   */
  private warnIfUnfiltered(error: unknown): void {
    if (this.warnedUnfiltered || !isNestGenericRpcError(error)) return;
    this.warnedUnfiltered = true;
    this.log.error(
      'handler errors arrive as Nest\'s generic "Internal server error": TransportAwareExceptionFilter is not applied to this ' +
        'microservice, so infrastructure outages cannot be told from handler errors. Connect the transport with connectEventsTransport().',
    );
  }
}

function isNestGenericRpcError(error: unknown): boolean {
  if (!error || typeof error !== 'object' || error instanceof Error) return false;
  const e = error as { status?: unknown; message?: unknown };
  return e.status === 'error' && e.message === 'Internal server error' && Object.keys(error).length === 2;
}

export type { EventHandler };
