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

/**
 * Infrastructure failures (database or broker unreachable, a dependency down)
 * versus message faults (a bug, a business rule). Only the latter consume the
 * retry budget and end in the dead-letter topic.
 */
export function isInfrastructureError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    const e = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (current instanceof DependencyUnavailableError) return true;
    if (typeof e.code === 'string' && (PG_CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
    if (typeof e.message === 'string' && PG_CONNECTION_MESSAGES.some((m) => (e.message as string).includes(m))) return true;
    current = e.driverError ?? e.cause;
  }
  return isBrokerUnavailable(error);
}
