import { AppName, deadLetterTopic, EventEnvelope, parseEvent } from '@lib/events';
import { ConsumedMessage, ConsumerRunner, DurableProducer, KafkaConnectionOptions, ProcessingControl } from '@lib/kafka';
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
  /** Partitions handled at once (order is kept within a partition). Default 3. */
  partitionsConsumedConcurrently?: number;
  /** Handler attempts before the message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to `maxRetryBackoffMs`. Defaults 200 / 5000 ms. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

export type ConsumeOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

/** Counters and state for readiness and metrics. */
export interface ConsumerStats {
  state: string;
  lastError: string | null;
  /** Set while the consumer waits for a dependency (database, broker, gateway) to come back. */
  waitingFor: string | null;
  counts: Record<string, Record<ConsumeOutcome, number>>;
  /** Handling latency samples (ms), most recent last, at most 10,000. */
  recentLatenciesMs: number[];
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
 *    topic with the attempt count;
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
  private readonly maxAttempts: number;
  private readonly retryBackoffMs: number;
  private readonly maxRetryBackoffMs: number;
  private runner: ConsumerRunner | null = null;
  private readonly producer: DurableProducer;
  private waitingFor: string | null = null;
  private readonly counts: Record<string, Record<ConsumeOutcome, number>> = {};
  private readonly latencies: number[] = [];

  constructor(
    private readonly options: EventsTransportOptions,
    private readonly dataSource: DataSource,
  ) {
    super();
    this.groupId = options.groupId ?? options.app;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryBackoffMs = options.retryBackoffMs ?? 200;
    this.maxRetryBackoffMs = options.maxRetryBackoffMs ?? 5000;
    this.producer = new DurableProducer({ ...options.kafka, clientId: `${options.kafka.clientId}-dlq` });
  }

  /** Topics with a registered `@EventPattern` handler. */
  topics(): string[] {
    return [...this.messageHandlers.keys()];
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
      await this.runner.start((message, control) => this.process(message, control));
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
      recentLatenciesMs: [...this.latencies],
    };
  }

  private async process(message: ConsumedMessage, control: ProcessingControl): Promise<'done' | 'abort'> {
    const started = Date.now();
    const parsed = parseEvent(message.value);
    if (!parsed.ok) {
      return this.reject(message, control, { kind: parsed.error.kind, message: parsed.error.message, attempts: 0 });
    }
    const event = parsed.event;
    if (event.type !== message.topic) {
      const reason = `an ${event.type} event does not belong on topic ${message.topic}`;
      return this.reject(message, control, { kind: 'unexpected_type', message: reason, attempts: 0 });
    }
    const handler = this.getHandlerByPattern(message.topic);
    if (!handler) {
      return this.reject(message, control, { kind: 'unexpected_type', message: `no handler for ${message.topic}`, attempts: 0 });
    }

    for (let attempt = 1; ; attempt++) {
      try {
        const duplicate = await this.handleOnce(handler, message, event, attempt);
        this.waitingFor = null;
        this.count(message.topic, duplicate ? 'duplicate' : 'handled');
        this.latency(Date.now() - started);
        return 'done';
      } catch (error) {
        if (!control.isActive()) return 'abort';
        if (isInfrastructureError(error)) {
          // Not the message's fault: wait for the dependency, attempt not counted.
          this.waitFor(describe(error), event);
          attempt--;
          if (!(await this.sleep(this.maxRetryBackoffMs, control))) return 'abort';
          continue;
        }
        if (attempt >= this.maxAttempts) {
          return this.reject(message, control, { kind: 'handler_error', message: describe(error), attempts: attempt }, event);
        }
        this.count(message.topic, 'retried');
        const delay = Math.min(this.maxRetryBackoffMs, this.retryBackoffMs * 2 ** (attempt - 1));
        this.log.warn(`${event.type} ${event.id} failed (attempt ${attempt}/${this.maxAttempts}), retrying in ${delay} ms: ${describe(error)}`);
        if (!(await this.sleep(delay, control))) return 'abort';
      }
    }
  }

  /** Runs the handler in one transaction with the inbox row; true when the event was already handled. */
  private async handleOnce(handler: MessageHandler, message: ConsumedMessage, event: EventEnvelope, attempt: number): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const inserted: unknown[] = await manager.query(
        `INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING event_id`,
        [this.groupId, event.id, event.type, message.topic, message.partition, message.offset],
      );
      if (inserted.length === 0) return true;
      const context = new KafkaEventContext([message, event, manager, attempt]);
      await lastValueFrom(this.transformToObservable(await handler(event, context)), { defaultValue: undefined });
      return false;
    });
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
    this.count(message.topic, 'dead_lettered');
    this.log.warn(
      `dead-lettered ${message.topic}[${message.partition}]@${message.offset} to ${dlq}: ${reason.kind}: ${reason.message}` +
        (event ? ` (event ${event.id}, correlationId ${event.correlationId})` : ''),
    );
    return 'done';
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

  private count(topic: string, outcome: ConsumeOutcome): void {
    const c = (this.counts[topic] ??= { handled: 0, duplicate: 0, retried: 0, dead_lettered: 0 });
    c[outcome]++;
  }

  private latency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > 10_000) this.latencies.splice(0, this.latencies.length - 10_000);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'object' ? JSON.stringify(error) : String(error);
}

export type { DeadLetterKind };
