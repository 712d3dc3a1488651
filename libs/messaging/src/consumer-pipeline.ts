import { AppName, EventEnvelope, eventKey } from '@lib/events';
import { ConsumedMessage, ProcessingControl, ProcessOutcome } from '@lib/kafka';
import { withLogContext } from '@lib/logging';
import { SpanNotes, withConsumerSpan } from '@lib/tracing';
import { Logger } from '@nestjs/common';
import { ConsumerStatus } from './consumer-status';
import { DeadLetterReason, DeadLetterSink } from './dead-letter';
import { BatchScope, KafkaEventContext } from './event-context';
import { FailureClass } from './policies/failure-classes';
import { InboxGuard, Queryable } from './policies/inbox.guard';
import { parseDelivery } from './policies/parse.policy';
import { AttemptLedger, describeError, RetryPolicy } from './policies/retry.policy';
import { routeEvent } from './policies/route.policy';
import { CommitOutcome, PendingDelivery, UnitOfWork } from './unit-of-work';

/** A handler's first phase: the `@EventPattern` method, called with the event and its context; resolves when it finished. */
export type EventHandler = (event: EventEnvelope, ctx: KafkaEventContext) => Promise<void>;

/** The steps a consumed message goes through, each a small policy of its own. */
export interface ConsumerPipelineSteps {
  app: AppName;
  groupId: string;
  topicPrefix: string;
  /** The handler registered for a topic (without prefix). */
  handlerFor: (pattern: string) => EventHandler | undefined;
  inbox: InboxGuard;
  /** Where the inbox pre-check reads (autocommit); null: no pre-check, the unit of work's claim alone decides. */
  duplicatePrecheck: Queryable | null;
  unitOfWork: UnitOfWork;
  /** How {@link ConsumerPipeline.processBatch} commits a batch (default: `unitOfWork`). */
  batchUnitOfWork?: UnitOfWork;
  failureClasses: readonly FailureClass[];
  retry: RetryPolicy;
  deadLetters: DeadLetterSink;
  /** Pause between tries while a dependency (or the dead-letter topic) is unavailable. */
  waitMs: number;
  /** Deadline of one attempt; 0 = none. */
  attemptTimeoutMs?: number;
  status: ConsumerStatus;
}

/**
 * How one consumed message is handled, composed from the policies:
 *
 *   parse ─(not an event)──────────────────────────────► dead-letter
 *   route ─(wrong topic, no handler)───────────────────► dead-letter
 *   inbox pre-check ─(seen)────────────────────────────► duplicate, done
 *   handler phase 1 (no transaction)
 *   unit of work: inbox claim + transactional work ─(claimed before)─► duplicate, done
 *   after-commit hooks ────────────────────────────────► handled, done
 *   any failure ─► classify ─► wait in place | retry (pause the partition) | dead-letter
 *
 * Offsets are the runner's business: 'done' lets it commit `offset + 1`,
 * `{ retryInMs }` pauses only this partition, 'abort' (shutdown, revocation)
 * commits nothing. A batch mode (one unit of work for a batch of a
 * partition) reuses every step here; only the loop around them differs
 * (docs/adr/0004-consumer-runtime.md).
 */
export class ConsumerPipeline {
  private readonly log = new Logger('KafkaEventsTransport');
  private readonly attempts = new AttemptLedger();

  constructor(private readonly steps: ConsumerPipelineSteps) {}

  process(message: ConsumedMessage, control: ProcessingControl): Promise<ProcessOutcome> {
    return unlessRevoked(() => this.processOne(message, control), control, 'abort');
  }

  private async processOne(message: ConsumedMessage, control: ProcessingControl): Promise<ProcessOutcome> {
    const started = Date.now();
    const parsed = parseDelivery(message);
    if (!parsed.ok) return this.deadLetter(message, parsed.reason, control);
    const event = parsed.event;
    const routed = routeEvent(message, event, this.steps.topicPrefix, this.steps.handlerFor);
    if (!routed.ok) return this.deadLetter(message, routed.reason, control, event);
    // Every log line written while the event is handled names it.
    return withLogContext({ correlationId: event.correlationId, eventId: event.id, orderId: eventKey(event) }, () =>
      this.deliver(message, event, routed.handler, control, started),
    );
  }

  /**
   * Several consecutive messages of one partition in one unit of work (the
   * batch mode): parse, route and the inbox pre-check for all of them, each
   * handler's first phase, then one {@link UnitOfWork} run for those that got
   * this far, then their after-commit hooks. Resolves with how many messages,
   * from the first, are done (handled or duplicates). The batch ends before
   * the first message that needs anything else — one that does not parse or
   * route, one already waiting for a retry, a handler that throws in its first
   * phase, a delivery whose work fails (its neighbours before it commit) —
   * and the caller hands that message to {@link process}, which classifies,
   * retries and dead-letters exactly as without batching. A failure of the
   * pre-check or of the whole transaction commits nothing here: 0. So does
   * a batch that outlives the attempt deadline (a connection cut silently
   * hangs its statement): its messages go one by one, each under its own
   * deadline, and if the abandoned transaction commits after all, its events
   * are duplicates for the inbox.
   */
  processBatch(messages: readonly ConsumedMessage[], control: ProcessingControl): Promise<number> {
    const [first] = messages;
    const what = `a batch of ${messages.length} from ${first?.topic}[${first?.partition}]@${first?.offset}`;
    return unlessRevoked(() => withDeadline(this.processRun(messages, control), this.steps.attemptTimeoutMs ?? 0, what).catch(() => 0), control, 0);
  }

  private async processRun(messages: readonly ConsumedMessage[], control: ProcessingControl): Promise<number> {
    const started = Date.now();
    const routed: { message: ConsumedMessage; event: EventEnvelope; handler: EventHandler }[] = [];
    for (const message of messages) {
      if (this.attempts.attemptOf(message) > 1) break; // waiting for a retry: the per-message path counts its attempts
      const parsed = parseDelivery(message);
      if (!parsed.ok) break;
      const route = routeEvent(message, parsed.event, this.steps.topicPrefix, this.steps.handlerFor);
      if (!route.ok) break;
      routed.push({ message, event: parsed.event, handler: route.handler });
    }
    if (routed.length === 0 || !control.isActive()) return 0;
    const { duplicatePrecheck, inbox } = this.steps;
    const unitOfWork = this.steps.batchUnitOfWork ?? this.steps.unitOfWork;
    let seen: Set<string>;
    try {
      seen = duplicatePrecheck
        ? await inbox.seen(
            duplicatePrecheck,
            routed.map((r) => r.event.id),
          )
        : new Set();
    } catch {
      return 0;
    }

    // Phase 1 of each handler, in order, each in its own log context and consumer span (as one by one).
    const steps: ({ kind: 'duplicate' } | { kind: 'pending'; index: number; afterCommit: readonly (() => unknown)[] })[] = [];
    const pending: PendingDelivery[] = [];
    // What ctx.perBatch loads, it loads for the events whose first phase may run: each once, none the inbox has seen.
    const batch = new BatchScope([...new Map(routed.filter((r) => !seen.has(r.event.id)).map((r) => [r.event.id, r.event])).values()]);
    for (const { message, event, handler } of routed) {
      // Seen by the inbox, or earlier in this run: the same event again (a redelivery) runs no first phase (no gateway call);
      // it is done once the copy before it committed.
      if (seen.has(event.id)) {
        steps.push({ kind: 'duplicate' });
        continue;
      }
      seen.add(event.id);
      try {
        const registered = await withLogContext({ correlationId: event.correlationId, eventId: event.id, orderId: eventKey(event) }, () =>
          withConsumerSpan(this.trace(message, event, 1), async () => {
            const ctx = new KafkaEventContext([message, event, 1, batch]);
            await handler(event, ctx);
            return ctx.seal();
          }),
        );
        steps.push({ kind: 'pending', index: pending.length, afterCommit: registered.afterCommit });
        pending.push({ message, event, work: registered.work, statement: registered.statement });
      } catch {
        break; // this message again through process(), which classifies the failure
      }
    }

    const { committed } = pending.length > 0 ? await unitOfWork.run(pending) : { committed: [] as CommitOutcome[] };
    let done = 0;
    for (const step of steps) {
      const { message, event } = routed[done];
      let outcome: CommitOutcome;
      if (step.kind === 'duplicate') outcome = 'duplicate';
      else if (step.index < committed.length) outcome = committed[step.index];
      else break;
      if (outcome === 'handled')
        await withLogContext({ correlationId: event.correlationId, eventId: event.id, orderId: eventKey(event) }, () =>
          this.runAfterCommit(step.kind === 'pending' ? step.afterCommit : [], event),
        );
      this.steps.status.record(message.topic, outcome, Date.now() - started);
      done++;
    }
    if (done > 0) this.steps.status.resume();
    return done;
  }

  /** Runs a routed event until it is handled, a duplicate, waiting for its retry, dead-lettered, or aborted. */
  private async deliver(
    message: ConsumedMessage,
    event: EventEnvelope,
    handler: EventHandler,
    control: ProcessingControl,
    started: number,
  ): Promise<ProcessOutcome> {
    const attempt = this.attempts.attemptOf(message);
    for (;;) {
      try {
        const outcome = await withDeadline(this.attempt(message, event, handler, attempt), this.steps.attemptTimeoutMs ?? 0, `${event.type} ${event.id}`);
        this.attempts.clear(message);
        this.steps.status.resume();
        this.steps.status.record(message.topic, outcome, Date.now() - started);
        return 'done';
      } catch (error) {
        if (!control.isActive()) return 'abort';
        const decision = this.steps.retry.decide(error, attempt, this.steps.failureClasses);
        switch (decision.action) {
          case 'wait':
            // Not the message's fault: wait for the dependency in place, attempt not counted.
            // Every partition needs the same dependency, so holding the fetch loop costs nothing.
            this.steps.status.waitFor(decision.what, `${event.type} ${event.id}`);
            if (!(await pause(this.steps.waitMs, control))) return 'abort';
            continue;
          case 'requeue':
            // A conflict of this message alone: pause only its partition, count nothing against it.
            this.log.warn(`${event.type} ${event.id} will be tried again in ${decision.inMs} ms, attempt not counted (${decision.why})`);
            return { retryInMs: decision.inMs };
          case 'retry':
            this.steps.status.record(message.topic, 'retried');
            this.log.warn(
              `${event.type} ${event.id} failed (attempt ${attempt}/${this.steps.retry.options.maxAttempts}), retrying in ${decision.inMs} ms: ${describeError(error)}`,
            );
            // Retry by pausing this partition, not by sleeping here: a sleeping batch
            // would hold kafkajs's fetch loop and stall every other partition too.
            this.attempts.recordFailure(message, attempt);
            return { retryInMs: decision.inMs };
          case 'dead_letter':
            this.attempts.clear(message);
            return this.deadLetter(message, decision.reason, control, event);
        }
      }
    }
  }

  /**
   * One attempt: pre-check, phase 1, unit of work, after-commit hooks. With
   * tracing on it is a CONSUMER span, the child of the message's
   * `traceparent`; outbox rows the handler writes carry this span on.
   */
  private attempt(message: ConsumedMessage, event: EventEnvelope, handler: EventHandler, attempt: number): Promise<CommitOutcome> {
    return withConsumerSpan(this.trace(message, event, attempt), async (span) => {
      const { duplicatePrecheck, inbox, unitOfWork } = this.steps;
      if (duplicatePrecheck && (await inbox.seen(duplicatePrecheck, [event.id])).size > 0) return duplicate(span);

      const ctx = new KafkaEventContext([message, event, attempt]);
      await handler(event, ctx); // phase 1: no transaction open
      const registered = ctx.seal();

      const { committed, failure } = await unitOfWork.run([{ message, event, work: registered.work, statement: registered.statement }]);
      if (failure) throw failure.error;
      if (committed[0] === 'duplicate') return duplicate(span);
      await this.runAfterCommit(registered.afterCommit, event);
      return 'handled';
    });
  }

  /** The consumer span of one attempt: the child of the message's `traceparent`. */
  private trace(message: ConsumedMessage, event: EventEnvelope, attempt: number) {
    return {
      app: this.steps.app,
      topic: message.topic,
      headers: message.headers,
      attributes: {
        'messaging.consumer.group.name': this.steps.groupId,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
        'messaging.message.id': event.id,
        'app.correlation_id': event.correlationId,
        'app.attempt': attempt,
      },
    };
  }

  /** After-commit hooks run once, in order; a failing one is logged (the effects are committed, the delivery is done). */
  private async runAfterCommit(hooks: readonly (() => unknown)[], event: EventEnvelope): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (error) {
        this.log.warn(`after-commit hook of ${event.type} ${event.id} failed (its effects are committed): ${describeError(error)}`);
      }
    }
  }

  /** Dead-letters a message, waiting out an outage of the dead-letter topic first; the consumer then moves on. */
  private async deadLetter(message: ConsumedMessage, reason: DeadLetterReason, control: ProcessingControl, event?: EventEnvelope): Promise<'done' | 'abort'> {
    const sink = this.steps.deadLetters;
    for (;;) {
      try {
        await sink.send(message, reason);
        break;
      } catch (error) {
        this.steps.status.waitFor(`dead-letter topic ${sink.destination}: ${describeError(error)}`, event && `${event.type} ${event.id}`);
        if (!(await pause(this.steps.waitMs, control))) return 'abort';
      }
    }
    this.steps.status.resume();
    this.steps.status.record(message.topic, 'dead_lettered');
    this.log.warn(
      `dead-lettered ${message.topic}[${message.partition}]@${message.offset} to ${sink.destination}: ${reason.kind}: ${reason.message}` +
        (event ? ` (event ${event.id}, correlationId ${event.correlationId})` : ''),
    );
    return 'done';
  }
}

function duplicate(span: SpanNotes): CommitOutcome {
  span.setAttribute('app.duplicate', true);
  return 'duplicate';
}

/** Sleeps in small steps so that shutdown and revocation are noticed; false if processing must stop. */
async function pause(ms: number, control: ProcessingControl): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!control.isActive()) return false;
    await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }
  return control.isActive();
}

/**
 * `work()`, or `revokedOutcome` as soon as the partition is revoked while it
 * runs (see {@link ProcessingControl.revoked}): the group is waiting for this
 * member. The abandoned work goes on alone until its next look at the
 * control, which says inactive: it stops there, without waiting, retrying or
 * counting an attempt. If its transaction still commits, its offset was not
 * committed, and the redelivery is a duplicate for the inbox. Work for a
 * partition already revoked does not start.
 */
function unlessRevoked<T>(start: () => Promise<T>, control: ProcessingControl, revokedOutcome: T): Promise<T> {
  const signal = control.revoked;
  if (!signal) return start();
  if (signal.aborted) return Promise.resolve(revokedOutcome);
  const work = start();
  let onAbort: () => void = () => undefined;
  const revoked = new Promise<T>((resolve) => {
    onAbort = () => resolve(revokedOutcome);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined); // a late rejection of abandoned work must not go unhandled
  return Promise.race([work, revoked]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Thrown when a handler attempt outlives its deadline: counted as a failed attempt (a handler error). */
export class HandlerTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`handler attempt on ${what} did not finish within ${ms} ms`);
    this.name = 'HandlerTimeoutError';
  }
}

/**
 * Races `work` against a deadline. The work itself cannot be cancelled; its
 * database statements are ended by the pool's statement timeout, and a late
 * commit is harmless: the retry then finds the event in the inbox.
 */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError(what, ms)), ms);
  });
  // A rejection of the abandoned work after the deadline must not go unhandled.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
