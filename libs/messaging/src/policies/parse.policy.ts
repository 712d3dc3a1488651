import { EventEnvelope, parseEvent } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { DeadLetterReason } from '../dead-letter';

/** A consumed message as the parse policy sees it: an event, or why it never will be one. */
export type ParsedDelivery = { ok: true; event: EventEnvelope } | { ok: false; reason: DeadLetterReason };

/**
 * Parse first: a value that is not JSON, not an envelope, of an unknown
 * type/version, or with invalid `data` is a fault of the message that no
 * retry can fix, so it is dead-lettered at once (attempts 0), with the parse
 * stage as its kind. Headers are not consulted: a value typed into the
 * console producer without key or headers parses the same.
 */
export function parseDelivery(message: Pick<ConsumedMessage, 'value'>): ParsedDelivery {
  const parsed = parseEvent(message.value);
  if (parsed.ok) return { ok: true, event: parsed.event };
  return { ok: false, reason: { kind: parsed.error.kind, message: parsed.error.message, attempts: 0 } };
}
