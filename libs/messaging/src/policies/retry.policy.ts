import { DeadLetterReason } from '../dead-letter';
import { classifyFailure, FailureClass } from './failure-classes';

export interface RetryPolicyOptions {
  /** Attempts of one message before it is dead-lettered. */
  maxAttempts: number;
  /** Delay after the first failed attempt, doubled per attempt ... */
  backoffMs: number;
  /** ... up to this. */
  maxBackoffMs: number;
}

/** What to do after a failed attempt. */
export type FailureAction =
  | { action: 'wait'; what: string }
  | { action: 'requeue'; inMs: number; why: string }
  | { action: 'retry'; inMs: number }
  | { action: 'dead_letter'; reason: DeadLetterReason };

/**
 * Bounded retries with exponential backoff: after failed attempt `n` (1 is
 * the first) the next comes after `backoffMs · 2^(n-1)`, capped at
 * `maxBackoffMs`; after `maxAttempts` there is none.
 */
export class RetryPolicy {
  constructor(readonly options: RetryPolicyOptions) {}

  /** Delay before the attempt after failed attempt `attempt`, or null when the budget is spent. */
  nextDelay(attempt: number): number | null {
    if (attempt >= this.options.maxAttempts) return null;
    return Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempt - 1));
  }

  /**
   * The failure classes' decision for `error` after attempt `attempt`, turned
   * into an action: wait for a dependency, retry after a delay, or
   * dead-letter (at once, or because the attempts are spent).
   */
  decide(error: unknown, attempt: number, classes: readonly FailureClass[]): FailureAction {
    const failure = classifyFailure(error, classes);
    const message = describeError(error);
    if (failure.decision === 'wait') return { action: 'wait', what: message };
    // Not counted: the first retry delay each time, whatever the attempt.
    if (failure.decision === 'requeue')
      return { action: 'requeue', inMs: Math.min(this.options.backoffMs, this.options.maxBackoffMs), why: `${failure.name}: ${message}` };
    if (failure.decision === 'dead_letter') return { action: 'dead_letter', reason: { kind: failure.name, message, attempts: attempt } };
    const inMs = this.nextDelay(attempt);
    return inMs === null ? { action: 'dead_letter', reason: { kind: failure.name, message, attempts: attempt } } : { action: 'retry', inMs };
  }
}

/** A one-line description of anything thrown (errors from another realm and plain objects with a message count too). */
export function describeError(error: unknown): string {
  const message = error && typeof error === 'object' ? (error as { message?: unknown }).message : undefined;
  if (typeof message === 'string' && message.length > 0) return message;
  if (typeof error === 'object' && error !== null) return JSON.stringify(error);
  return String(error);
}

/**
 * Failed attempts of the message each partition is retrying. One per
 * partition, as messages of a partition are handled in order; the retry
 * pauses the partition and the same message is fetched again, and its count
 * continues here. In memory: after a restart or a rebalance it starts again,
 * which can only add attempts, never lose a message.
 */
export class AttemptLedger {
  private readonly failed = new Map<string, { offset: string; attempts: number }>();

  /** The number of the attempt about to be made on this message (1 for the first). */
  attemptOf(message: { topic: string; partition: number; offset: string }): number {
    const previous = this.failed.get(slot(message));
    return previous?.offset === message.offset ? previous.attempts + 1 : 1;
  }

  recordFailure(message: { topic: string; partition: number; offset: string }, attempt: number): void {
    this.failed.set(slot(message), { offset: message.offset, attempts: attempt });
  }

  clear(message: { topic: string; partition: number }): void {
    this.failed.delete(slot(message));
  }
}

const slot = (message: { topic: string; partition: number }) => `${message.topic}|${message.partition}`;
