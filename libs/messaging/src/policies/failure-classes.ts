import { clientRefusedReason, isBrokerUnavailable } from '@lib/kafka';

/**
 * Thrown by a handler (or a port it calls) when something it depends on is
 * down — e.g. the payment gateway's circuit breaker is open. It is not the
 * message's fault: the consumer stops taking messages from that partition and
 * tries the same message again later, without counting an attempt or
 * dead-lettering it.
 */
export class DependencyUnavailableError extends Error {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  constructor(
    readonly dependency: string,
    message = `${dependency} is unavailable`,
  ) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * What the consumer does about a failed attempt:
 * - `wait`: not the message's fault (a dependency is down). No attempt is
 *   counted, nothing is dead-lettered, no offset committed; the same message
 *   is tried again every `maxRetryBackoffMs` while readiness reports the wait.
 * - `requeue`: not the message's fault either, but a conflict of this one
 *   message (a lock it waited for too long, a serialization failure, a
 *   deadlock, a statement cancelled): try it again after a backoff with only
 *   its partition paused, no attempt counted, the other partitions flowing.
 * - `retry`: count the attempt and try again after a backoff (only this
 *   partition is paused); when the attempts are spent, dead-letter it.
 * - `dead_letter`: to the dead-letter topic at once; retrying cannot help.
 */
export type FailureDecision = 'wait' | 'requeue' | 'retry' | 'dead_letter';

/** One class of failure: its name, how to recognise it, and what to do about it. */
export interface FailureClass {
  /** Stable name; the dead-letter kind when the class ends in the dead-letter topic. */
  readonly name: string;
  /** Whether the error belongs to this class (walk the cause chain where causes are wrapped). */
  readonly matches: (error: unknown) => boolean;
  readonly decision: FailureDecision;
}

/**
 * The failure classes, first match wins; the last one catches everything. To
 * add a class, add a row here (and a case to its spec). An app can pass its
 * own list (`EventsTransportOptions.failureClasses`), e.g. its own rows
 * followed by these.
 */
export const FAILURE_CLASSES: readonly FailureClass[] = [
  { name: 'dependency_unavailable', decision: 'wait', matches: (error) => causes(error).some((e) => e instanceof DependencyUnavailableError) },
  { name: 'database_unavailable', decision: 'wait', matches: isDatabaseUnavailable },
  { name: 'database_contention', decision: 'requeue', matches: (error) => causes(error).some(isDatabaseContention) },
  { name: 'broker_unavailable', decision: 'wait', matches: isBrokerUnavailable },
  // A wrong password or a missing ACL refuses this app, not the message: an outage until someone fixes the settings.
  { name: 'kafka_refused', decision: 'wait', matches: (error) => clientRefusedReason(error) !== null },
  // A bug or a business rule (e.g. a payment for an order this service does not have).
  { name: 'handler_error', decision: 'retry', matches: () => true },
];

/** The class of `error`: the first of `classes` that matches (a class matching everything belongs last). */
export function classifyFailure(error: unknown, classes: readonly FailureClass[] = FAILURE_CLASSES): FailureClass {
  return classes.find((c) => c.matches(error)) ?? FAILURE_CLASSES[FAILURE_CLASSES.length - 1];
}

/** True when `error` (or what it wraps) says the database cannot be used right now: nobody's fault, try again later. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return causes(error).some(isDatabaseUnusable);
}

/** The error and what it wraps: TypeORM's `driverError`, the standard `cause`. */
function causes(error: unknown): object[] {
  const chain: object[] = [];
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    chain.push(current);
    const e = current as { driverError?: unknown; cause?: unknown };
    current = e.driverError ?? e.cause;
  }
  return chain;
}

/** The database cannot be used right now, by any message: wait for it (readiness says so). */
const PG_UNUSABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '25006', // read_only_sql_transaction: a standby, or read-only after a failover
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** A conflict of this message's transaction with another: try it again soon, without counting it against the message. */
const PG_CONTENTION_CODES = new Set([
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout, NOWAIT)
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'the database system is starting up',
  'the database system is shutting down',
];

/**
 * TypeORM releases a transaction's query runner when its connection fails
 * under it; the transaction's next statement then throws one of these
 * instead of the connection's error (both seen while PostgreSQL stopped:
 * the COMMIT, and a query through the runner's manager such as the outbox
 * insert).
 */
const RELEASED_QUERY_RUNNER_ERRORS = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/** PostgreSQL unreachable, restarting, read-only, out of disk, memory or connections (SQLSTATE class 08 and the codes above). */
function isDatabaseUnusable(e: object): boolean {
  const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && (PG_UNUSABLE_CODES.has(code) || code.startsWith('08'))) return true;
  if (typeof name === 'string' && RELEASED_QUERY_RUNNER_ERRORS.has(name)) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.some((m) => message.includes(m));
}

function isDatabaseContention(e: object): boolean {
  const { code } = e as { code?: unknown };
  return typeof code === 'string' && PG_CONTENTION_CODES.has(code);
}
