/** Why a message could not be turned into an event; dead-letter headers carry it as the error kind. */
export type EventParseErrorKind = 'not_json' | 'not_envelope' | 'unknown_type' | 'invalid_data';

// Dead-letter headers and log lines carry the message; a 100-line order with every line wrong must not make it huge.
const MAX_LISTED = 10;

/** Joins violations for a one-line message, naming how many were left out. */
export function summarize(violations: readonly string[]): string {
  const listed = violations.slice(0, MAX_LISTED).join('; ');
  const rest = violations.length - MAX_LISTED;
  return rest > 0 ? `${listed}; and ${rest} more` : listed;
}

/**
 * A message that is not a valid event. Every kind is a fault of the message,
 * never of the consumer, so retrying cannot help: it goes to the dead-letter topic.
 */
export class EventParseError extends Error {
  /** Stable code for logs and metrics; `kind` says which rule failed. */
  readonly code = 'EVENT_PARSE_ERROR' as const;
  override readonly name = 'EventParseError';

  constructor(
    /** Which stage rejected the message. */
    readonly kind: EventParseErrorKind,
    message: string,
    /** Every problem found, one readable sentence each, e.g. `data.items[0].quantity must not be greater than 1000`. */
    readonly violations: string[] = [],
  ) {
    super(message);
  }
}

/**
 * An event this process tried to create or publish that breaks the contract.
 * A bug in the producer: thrown before anything is written, so an invalid
 * event never reaches the outbox.
 */
export class InvalidEventError extends Error {
  /** Stable code, as for every error of ours. */
  readonly code = 'INVALID_EVENT' as const;
  override readonly name = 'InvalidEventError';

  constructor(
    /** Every problem found, one readable sentence each. */
    readonly violations: string[],
  ) {
    super(`Invalid event: ${summarize(violations)}`);
  }
}
