import { AppName, deadLetterTopic, EventEnvelope, parseEvent } from '@lib/events';
import { withLogContext } from '@lib/logging';
import { ConsumedMessage, ConsumerRunner, DurableProducer, KafkaConnectionOptions, ProcessingControl, ProcessOutcome } from '@lib/kafka';
import { withConsumerSpan } from '@lib/tracing';
import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DataSource } from 'typeorm';
import { DeadLetterKind, DeadLetterReason, deadLetterHeaders } from './dead-letter';
import { KafkaEventContext } from './event-context';
import { isInfrastructureError } from './failure-classification';

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
  maxRetryBackoffMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Told about every outcome as it happens (metrics). */
  observer?: ConsumerObserver;
}

export type ConsumeOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

/** Receives each message outcome; `durationMs` (taken → committed) comes with `handled` and `duplicate`. */
export interface ConsumerObserver {
  onOutcome(topic: string, outcome: ConsumeOutcome, durationMs?: number): void;
}

/** Counters and state for readiness and metrics. */
export interface ConsumerStats {
  state: string;
  lastError: string | null;
  /** Set while the consumer waits for a dependency (database, broker, gateway) to come back. */
  waitingFor: string | null;
  counts: Record<string, Record<ConsumeOutcome, number>>;
}

/**
 * A Nest transport strategy over our Kafka consumer runtime. Apps write
 * handlers the Nest way — `@EventPattern(Topics.OrderCreated)` with
 * `@Payload() event` and `@Ctx() ctx: KafkaEventContext` — and every handler
 * gets, without writing a line for it:
 *
 * 1. parsing and validation by `@lib/events`; a message that fails goes
 *    straight to `<app>.dlq` with the reason, one warning, and the consumer
 *    moves on (Nest's own Kafka transport would retry it forever);
 * 2. the inbox: the (consumer, event id) row is inserted in the transaction
 *    the handler's effects use; a duplicate commits nothing and is counted;
 * 3. bounded retries with backoff for handler errors, then the dead-letter
 *    topic with the attempt count; while a message waits for its retry only
 *    its partition is paused, the other partitions keep flowing;
 * 4. waiting, not failing, while the database, the broker or a dependency is
 *    down: no attempt counted, no dead letter, no offset committed;
 * 5. offsets committed (`offset + 1`) only after the transaction committed.
 *
 * Handlers are routed by topic; an envelope whose `type` differs from its
 * topic is dead-lettered (`unexpected_type`).
 */
export class KafkaEventsTransport extends Server implements CustomTransportStrategy {
  private readonly log = new Logger('KafkaEventsTransport');
  private readonly groupId: string;
  private readonly topicPrefix: string;
  private readonly maxAttempts: number;
  private readonly retryBackoffMs: number;
  private readonly maxRetryBackoffMs: number;
  private runner: ConsumerRunner | null = null;
  private readonly producer: DurableProducer;
  private waitingFor: string | null = null;
  private warnedUnfiltered = false;
  private readonly counts: Record<string, Record<ConsumeOutcome, number>> = {};
  /**
   * Failed attempts of the message a partition is retrying (one at a time per
   * partition, as messages of a partition are handled in order). In memory:
   * after a restart or a rebalance the count starts again, which can only
   * add attempts, never lose a message.
   */
  private readonly failedAttempts = new Map<string, { offset: string; attempts: number }>();

  constructor(
    private readonly options: EventsTransportOptions,
    private readonly dataSource: DataSource,
  ) {
    super();
    this.groupId = options.groupId ?? options.app;
    this.topicPrefix = options.topicPrefix ?? '';
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryBackoffMs = options.retryBackoffMs ?? 200;
    this.maxRetryBackoffMs = options.maxRetryBackoffMs ?? 5000;
    this.producer = new DurableProducer({ ...options.kafka, clientId: `${options.kafka.clientId}-dlq` });
  }

  /** Topics with a registered `@EventPattern` handler (with the topic prefix, if any). */
  topics(): string[] {
    return [...this.messageHandlers.keys()].map((pattern) => this.topicPrefix + pattern);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.runner = new ConsumerRunner(this.options.kafka, {
        groupId: this.groupId,
        topics: this.topics(),
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
        sessionTimeoutMs: this.options.sessionTimeoutMs ?? 30_000,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 3000,
        fromBeginning: true,
      });
      // Every log line written while a message is handled names it.
      await this.runner.start((message, control) => withLogContext({ topic: message.topic }, () => this.process(message, control)));
      this.log.log(`consumer group "${this.groupId}" subscribed to ${this.topics().join(', ')}`);
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
    await this.producer.disconnect();
  }

  on(): void {
    throw new Error('KafkaEventsTransport has no events to listen to; read stats() instead');
  }

  unwrap<T>(): T {
    return this.runner as T;
  }

  stats(): ConsumerStats {
    const status = this.runner?.status() ?? { state: 'idle', lastError: null };
    return {
      ...status,
      waitingFor: this.waitingFor,
      counts: structuredClone(this.counts),
    };
  }

  private async process(message: ConsumedMessage, control: ProcessingControl): Promise<ProcessOutcome> {
    const started = Date.now();
    const parsed = parseEvent(message.value);
    if (!parsed.ok) {
      return this.reject(message, control, { kind: parsed.error.kind, message: parsed.error.message, attempts: 0 });
    }
    const event = parsed.event;
    const pattern = message.topic.startsWith(this.topicPrefix) ? message.topic.slice(this.topicPrefix.length) : null;
    if (event.type !== pattern) {
      const reason = `an ${event.type} event does not belong on topic ${message.topic}`;
      return this.reject(message, control, { kind: 'unexpected_type', message: reason, attempts: 0 });
    }
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) {
      return this.reject(message, control, { kind: 'unexpected_type', message: `no handler for ${message.topic}`, attempts: 0 });
    }

    const orderId = (event.data as { orderId?: string }).orderId;
    return withLogContext({ correlationId: event.correlationId, eventId: event.id, orderId }, () =>
      this.handle(message, event, handler, control, started),
    );
  }

  /** Runs a valid event's handler: retries, waiting out outages, dead-lettering when out of attempts. */
  private async handle(
    message: ConsumedMessage,
    event: EventEnvelope,
    handler: MessageHandler,
    control: ProcessingControl,
    started: number,
  ): Promise<ProcessOutcome> {
    // Attempts survive the partition being paused and the message fetched again (see below).
    const slot = `${message.topic}|${message.partition}`;
    const previous = this.failedAttempts.get(slot);
    const attempt = previous?.offset === message.offset ? previous.attempts + 1 : 1;
    for (;;) {
      try {
        const duplicate = await this.handleOnce(handler, message, event, attempt);
        this.failedAttempts.delete(slot);
        this.waitingFor = null;
        this.record(message.topic, duplicate ? 'duplicate' : 'handled', Date.now() - started);
        return 'done';
      } catch (error) {
        if (!control.isActive()) return 'abort';
        this.warnIfUnfiltered(error);
        if (isInfrastructureError(error)) {
          // Not the message's fault: wait for the dependency in place, attempt not counted.
          // Every partition needs the same dependency, so holding the fetch loop costs nothing.
          this.waitFor(describe(error), event);
          if (!(await this.sleep(this.maxRetryBackoffMs, control))) return 'abort';
          continue;
        }
        if (attempt >= this.maxAttempts) {
          this.failedAttempts.delete(slot);
          return this.reject(message, control, { kind: 'handler_error', message: describe(error), attempts: attempt }, event);
        }
        this.record(message.topic, 'retried');
        const delay = Math.min(this.maxRetryBackoffMs, this.retryBackoffMs * 2 ** (attempt - 1));
        this.log.warn(`${event.type} ${event.id} failed (attempt ${attempt}/${this.maxAttempts}), retrying in ${delay} ms: ${describe(error)}`);
        // Retry by pausing this partition, not by sleeping here: a sleeping batch
        // would hold kafkajs's fetch loop and stall every other partition too.
        this.failedAttempts.set(slot, { offset: message.offset, attempts: attempt });
        return { retryInMs: delay };
      }
    }
  }

  /**
   * Runs the handler in one transaction with the inbox row; true when the event was already handled.
   * With tracing on, the attempt is a CONSUMER span, the child of the message's `traceparent`:
   * outbox rows the handler writes carry this span on, so one order stays one trace.
   */
  private async handleOnce(handler: MessageHandler, message: ConsumedMessage, event: EventEnvelope, attempt: number): Promise<boolean> {
    const trace = {
      app: this.options.app,
      topic: message.topic,
      headers: message.headers,
      attributes: {
        'messaging.consumer.group.name': this.groupId,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
        'messaging.message.id': event.id,
        'app.correlation_id': event.correlationId,
        'app.attempt': attempt,
      },
    };
    return withConsumerSpan(trace, (span) =>
      this.dataSource.transaction(async (manager) => {
        const inserted: unknown[] = await manager.query(
          `INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING event_id`,
          [this.groupId, event.id, event.type, message.topic, message.partition, message.offset],
        );
        if (inserted.length === 0) {
          span.setAttribute('app.duplicate', true);
          return true;
        }
        const context = new KafkaEventContext([message, event, manager, attempt]);
        await lastValueFrom(this.transformToObservable(await handler(event, context)), { defaultValue: undefined });
        return false;
      }),
    );
  }

  /** Dead-letters a message, waiting out a broker outage first; the consumer then moves on. */
  private async reject(
    message: ConsumedMessage,
    control: ProcessingControl,
    reason: DeadLetterReason,
    event?: EventEnvelope,
  ): Promise<'done' | 'abort'> {
    const dlq = deadLetterTopic(this.options.app);
    for (;;) {
      try {
        await this.producer.send([
          { topic: dlq, key: message.key?.toString('utf8') ?? null, value: message.value ?? '', headers: deadLetterHeaders(message, this.groupId, reason) },
        ]);
        break;
      } catch (error) {
        this.waitFor(`dead-letter topic ${dlq}: ${describe(error)}`, event);
        if (!(await this.sleep(this.maxRetryBackoffMs, control))) return 'abort';
      }
    }
    this.waitingFor = null;
    this.record(message.topic, 'dead_lettered');
    this.log.warn(
      `dead-lettered ${message.topic}[${message.partition}]@${message.offset} to ${dlq}: ${reason.kind}: ${reason.message}` +
        (event ? ` (event ${event.id}, correlationId ${event.correlationId})` : ''),
    );
    return 'done';
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

  private waitFor(what: string, event?: EventEnvelope): void {
    if (this.waitingFor !== what) {
      this.log.warn(`waiting for ${what}${event ? ` before handling ${event.type} ${event.id}` : ''}`);
    }
    this.waitingFor = what;
  }

  /** Sleeps in small steps so that shutdown and revocation are noticed; false if processing must stop. */
  private async sleep(ms: number, control: ProcessingControl): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!control.isActive()) return false;
      await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
    }
    return control.isActive();
  }

  private record(topic: string, outcome: ConsumeOutcome, durationMs?: number): void {
    const c = (this.counts[topic] ??= { handled: 0, duplicate: 0, retried: 0, dead_lettered: 0 });
    c[outcome]++;
    // Latencies go to the observer (a histogram), not to a buffer here.
    this.options.observer?.onOutcome(topic, outcome, durationMs);
  }
}

function isNestGenericRpcError(error: unknown): boolean {
  if (!error || typeof error !== 'object' || error instanceof Error) return false;
  const e = error as { status?: unknown; message?: unknown };
  return e.status === 'error' && e.message === 'Internal server error' && Object.keys(error).length === 2;
}

function describe(error: unknown): string {
  // Not `instanceof Error`: errors from another realm (or plain objects with a message) count too.
  const message = error && typeof error === 'object' ? (error as { message?: unknown }).message : undefined;
  if (typeof message === 'string' && message.length > 0) return message;
  return typeof error === 'object' ? JSON.stringify(error) : String(error);
}

export type { DeadLetterKind };
