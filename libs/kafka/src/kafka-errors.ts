/**
 * Telling "the broker is unreachable right now" apart from "this message is
 * at fault" decides whether we back off (nothing is anyone's fault, try again
 * later) or count an attempt against a message (and eventually park or
 * dead-letter it). kafkajs wraps the cause in `NumberOfRetriesExceeded`, so the
 * whole cause chain is inspected.
 */
const UNAVAILABLE_ERROR_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

const UNAVAILABLE_PROTOCOL_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'BROKER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'KAFKA_STORAGE_ERROR',
]);

interface ErrorLike {
  name?: string;
  type?: string;
  code?: string;
  cause?: unknown;
  originalError?: unknown;
}

function* causeChain(error: unknown): Generator<ErrorLike> {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 8; depth++) {
    const e = current as ErrorLike;
    yield e;
    current = e.cause ?? e.originalError;
  }
}

/** True when the error means the cluster cannot be reached or has no leader yet: retry later, blame no message. */
export function isBrokerUnavailable(error: unknown): boolean {
  for (const e of causeChain(error)) {
    if (e.name && UNAVAILABLE_ERROR_NAMES.has(e.name)) return true;
    if (e.type && UNAVAILABLE_PROTOCOL_TYPES.has(e.type)) return true;
    if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(e.code)) return true;
  }
  return false;
}

const TOO_LARGE_PROTOCOL_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** True when the broker refused a record (or batch) as larger than the topic or broker allows: sending it again as it is cannot succeed. */
export function isRecordTooLarge(error: unknown): boolean {
  for (const e of causeChain(error)) {
    if (e.type && TOO_LARGE_PROTOCOL_TYPES.has(e.type)) return true;
  }
  return false;
}
