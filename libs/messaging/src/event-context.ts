import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { BaseRpcContext } from '@nestjs/microservices';
import { AsyncResource } from 'node:async_hooks';
import { EntityManager } from 'typeorm';

/** Work a handler hands to the runtime: it runs in the delivery's transaction, next to the inbox row. */
export type TransactionalWork = (tx: EntityManager) => Promise<unknown>;

/** Runs once the delivery's transaction has committed. */
export type AfterCommitHook = () => unknown;

/** What a handler registered, taken by the runtime once the handler's method has returned. */
export interface RegisteredWork {
  readonly work: readonly TransactionalWork[];
  readonly afterCommit: readonly AfterCommitHook[];
}

type EventContextArgs = [message: ConsumedMessage, event: EventEnvelope, attempt: number];

/**
 * What a handler gets with `@Ctx()`. A handler runs in two phases:
 *
 * 1. The `@EventPattern` method itself, with **no database transaction open**.
 *    Work that needs none goes here — above all remote calls (a payment
 *    gateway), which must never hold a transaction (and a pooled connection)
 *    while they wait.
 * 2. What must commit together with the inbox row, the handler hands over with
 *    `ctx.inTransaction(tx => …)`. The runtime runs it after the method
 *    returned, inside the delivery's transaction; it commits with the inbox
 *    row or not at all. `ctx.afterCommit(() => …)` runs once that committed
 *    (e.g. wake a dispatcher), never for a duplicate or a failed attempt.
 *
 * Rule for transactional work: re-check inside the transaction what it relies
 * on. Phase 1 read the world without a transaction, another instance may have
 * acted since, and when messages are handled in batches (one transaction per
 * batch of a partition), phase 1 of message k+1 runs before message k's
 * transactional work is applied.
 */
export class KafkaEventContext extends BaseRpcContext<EventContextArgs> {
  private readonly work: TransactionalWork[] = [];
  private readonly afterCommitHooks: AfterCommitHook[] = [];
  private sealed = false;

  /** Runs `work` in the delivery's transaction after the handler method returned (in registration order). */
  inTransaction(work: TransactionalWork): void {
    this.assertOpen('inTransaction');
    this.work.push(inThisAsyncContext(work));
  }

  /** Runs `hook` once the delivery's transaction committed. A failing hook is logged; the delivery stays done. */
  afterCommit(hook: AfterCommitHook): void {
    this.assertOpen('afterCommit');
    this.afterCommitHooks.push(inThisAsyncContext(hook));
  }

  get message(): ConsumedMessage {
    return this.args[0];
  }

  get topic(): string {
    return this.args[0].topic;
  }

  get partition(): number {
    return this.args[0].partition;
  }

  get offset(): string {
    return this.args[0].offset;
  }

  /** 1 for the first delivery attempt in this process, 2 for the first retry, … */
  get attempt(): number {
    return this.args[2];
  }

  /** Meta for events caused by this one: same correlation id, this event's id as causation id. */
  causedBy(): { correlationId: string; causationId: string } {
    const event = this.args[1];
    return { correlationId: event.correlationId, causationId: event.id };
  }

  /** The runtime takes the registered work once the handler method has returned; later registrations are refused. */
  seal(): RegisteredWork {
    this.sealed = true;
    return { work: this.work, afterCommit: this.afterCommitHooks };
  }

  private assertOpen(what: string): void {
    if (this.sealed) throw new Error(`ctx.${what}() was called after the handler returned; register work before its @EventPattern method resolves`);
  }
}

/**
 * `fn` bound to the async context it is registered in — the handler's log
 * fields and trace span — wherever and whenever the runtime runs it. What
 * `AsyncResource.bind` does, without the two deprecated accessors it defines
 * on every bound function (a cost per consumed message).
 */
function inThisAsyncContext<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const scope = new AsyncResource('KafkaEventContext');
  return (...args) => scope.runInAsyncScope(fn, undefined, ...args);
}
