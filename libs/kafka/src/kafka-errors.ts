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

/**
 * The cluster refuses this client, not a message: authentication (SASL) or
 * authorization (ACLs) failed. Nothing a message did, so no message may be
 * blamed for it — an outage to report by name and wait out.
 */
const REFUSED_ERROR_NAMES = new Set(['KafkaJSSASLAuthenticationError']);
const REFUSED_PROTOCOL_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);

/** Why the cluster refuses this client (`'authentication failed: …'`), or null when `error` is something else. */
export function clientRefusedReason(error: unknown): string | null {
  for (const e of causeChain(error)) {
    const message = (e as { message?: unknown }).message;
    const detail = typeof message === 'string' ? message : (e.type ?? e.name ?? 'refused');
    if (e.name && REFUSED_ERROR_NAMES.has(e.name)) return `authentication failed: ${detail}`;
    if (e.type && REFUSED_PROTOCOL_TYPES.has(e.type))
      return `${e.type.includes('AUTHORIZATION') ? 'authorization' : 'authentication'} failed (${e.type}): ${detail}`;
  }
  return null;
}

/** True when the error is about no message in particular: the broker is unreachable, or it refuses this client. */
export function isNotAMessageFault(error: unknown): boolean {
  return isBrokerUnavailable(error) || clientRefusedReason(error) !== null;
}
