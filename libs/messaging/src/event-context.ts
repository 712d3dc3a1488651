import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { BaseRpcContext } from '@nestjs/microservices';
import { AsyncResource } from 'node:async_hooks';
import { EntityManager } from 'typeorm';

/** Work a handler hands to the runtime: it runs in the delivery's transaction, next to the inbox row. */
export type TransactionalWork = (tx: EntityManager) => Promise<unknown>;

/**
 * Transactional work as one data-modifying statement: `WITH <with> <select>`.
 * When it is a delivery's only work, the runtime sends it together with the
 * inbox row as one autocommitted statement — one round trip instead of
 * open, work and commit. It did its work when `select` returns a row; when it
 * returns none, its CTEs must have changed nothing (write them so: each
 * data-modifying CTE conditioned on the one before), and then nothing
 * commits, not even the inbox row, and `otherwise` runs in an ordinary
 * transaction with the inbox row. Inside a transaction (a batch, several
 * works) it runs the same way: the statement, and `otherwise` if it returned
 * no row.
 */
export interface StatementWork<Row = unknown> {
  /** The statement's common table expressions, `name AS (…), …`, with parameters `$1`, `$2`, … */
  with: string;
  /** The final query over them, e.g. `SELECT id FROM settled`: a row when the work was done. */
  select: string;
  parameters: readonly unknown[];
  /** Called with the rows when the work was done — after the commit when it went alone — for a log line or a metric: no database work, no throwing. */
  applied?(this: void, rows: Row[]): void; // method syntax: a StatementWork of any row type is accepted as a StatementWork
  /** The work when the statement returned no row, in the delivery's transaction. */
  otherwise: TransactionalWork;
}

/** The SQL of a {@link StatementWork} on its own: `WITH <with> <select>`. */
export function statementSql(work: Pick<StatementWork, 'with' | 'select'>): string {
  return work.with ? `WITH ${work.with} ${work.select}` : work.select;
}

/** Runs `work` in `tx`: a function as it is; a {@link StatementWork} as its statement, then `otherwise` if it did not apply. */
export async function applyWork<Row>(tx: EntityManager, work: TransactionalWork | StatementWork<Row>): Promise<unknown> {
  if (typeof work === 'function') return work(tx);
  const rows = await tx.query<Row[]>(statementSql(work), [...work.parameters]);
  if (rows.length === 0) return work.otherwise(tx);
  work.applied?.(rows);
  return rows;
}

/** Runs once the delivery's transaction has committed. */
export type AfterCommitHook = () => unknown;

/** What a handler registered, taken by the runtime once the handler's method has returned. */
export interface RegisteredWork {
  readonly work: readonly TransactionalWork[];
  readonly afterCommit: readonly AfterCommitHook[];
  /** Set when the only work is a statement: the runtime may send it with the inbox row as one statement. */
  readonly statement?: StatementWork;
}

/**
 * The events handled in one unit of work (a batch of a partition, or one
 * delivery) and what {@link KafkaEventContext.perBatch} loaded for them.
 */
export class BatchScope {
  private readonly loads = new Map<string, Promise<unknown>>();

  constructor(readonly events: readonly EventEnvelope[]) {}

  /** `load(events)` the first time `key` is asked for; the same promise after that. */
  once<T>(key: string, load: (events: readonly EventEnvelope[]) => Promise<T>): Promise<T> {
    let loaded = this.loads.get(key) as Promise<T> | undefined;
    if (!loaded) this.loads.set(key, (loaded = load(this.events)));
    return loaded;
  }
}

type EventContextArgs = [message: ConsumedMessage, event: EventEnvelope, attempt: number, batch?: BatchScope];

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
  /** The first work, when it was given as a statement. */
  private statement?: StatementWork;
  private readonly afterCommitHooks: AfterCommitHook[] = [];
  private sealed = false;

  /**
   * Runs `work` in the delivery's transaction after the handler method
   * returned (in registration order). A {@link StatementWork} that is the
   * only work goes with the inbox row as one statement.
   */
  inTransaction(work: TransactionalWork | StatementWork): void {
    this.assertOpen('inTransaction');
    if (typeof work === 'function') return void this.work.push(inThisAsyncContext(work));
    const statement: StatementWork = {
      ...work,
      applied: work.applied && inThisAsyncContext(work.applied),
      otherwise: inThisAsyncContext(work.otherwise),
    };
    if (this.work.length === 0) this.statement = statement;
    this.work.push((tx) => applyWork(tx, statement));
  }

  /**
   * A phase 1 read done once for the whole unit of work instead of once per
   * message: `load` runs with the events of this message's batch (this one
   * among them; only this one when messages are handled one by one), the
   * first time a handler of the batch asks for `key`, and every handler of
   * the batch that asks for `key` gets its result. What it read is as of the
   * first ask — phase 2 re-checks what it relies on, as always. A failing
   * `load` fails the phase 1 of each handler that asks.
   */
  perBatch<T>(key: string, load: (events: readonly EventEnvelope[]) => Promise<T>): Promise<T> {
    return (this.args[3] ??= new BatchScope([this.args[1]])).once(key, load);
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
    return { work: this.work, afterCommit: this.afterCommitHooks, statement: this.work.length === 1 ? this.statement : undefined };
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
