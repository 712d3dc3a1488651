import { isBrokerUnavailable } from '@lib/kafka';

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
 * - `retry`: count the attempt and try again after a backoff (only this
 *   partition is paused); when the attempts are spent, dead-letter it.
 * - `dead_letter`: to the dead-letter topic at once; retrying cannot help.
 */
export type FailureDecision = 'wait' | 'retry' | 'dead_letter';

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
  { name: 'database_unavailable', decision: 'wait', matches: (error) => causes(error).some(isDatabaseConnectionError) },
  { name: 'broker_unavailable', decision: 'wait', matches: isBrokerUnavailable },
  // A bug or a business rule (e.g. a payment for an order this service does not have).
  { name: 'handler_error', decision: 'retry', matches: () => true },
];

/** The class of `error`: the first of `classes` that matches (a class matching everything belongs last). */
export function classifyFailure(error: unknown, classes: readonly FailureClass[] = FAILURE_CLASSES): FailureClass {
  return classes.find((c) => c.matches(error)) ?? FAILURE_CLASSES[FAILURE_CLASSES.length - 1];
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

const PG_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'the database system is starting up',
  'the database system is shutting down',
];

/** PostgreSQL unreachable, restarting or out of connections (SQLSTATE class 08 and the codes above). */
function isDatabaseConnectionError(e: object): boolean {
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (PG_CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.some((m) => message.includes(m));
}
