import type { EventEnvelope } from './envelope';
import { EventParseError, summarize } from './errors';
import { checkEvent } from './validation';

/** The outcome of {@link parseEvent}: a valid event, or why the message is not one. */
export type ParseResult = { ok: true; event: EventEnvelope } | { ok: false; error: EventParseError };

// fatal: bytes that are not UTF-8 are not JSON; decoding them to U+FFFD would let corrupted text through.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The one way a consumer turns a Kafka message value into an event. Never
 * throws: every failure is a fault of the message (dead-letter it), reported
 * as the first stage that rejected it — `not_json`, `not_envelope`,
 * `unknown_type`, then `invalid_data`. Headers are not consulted, so a message
 * typed by hand without headers parses the same.
 *
 * The returned event is the decoded JSON itself (plain objects, no class
 * instances), which after validation holds exactly the contract's fields.
 */
export function parseEvent(raw: Buffer | string | null | undefined): ParseResult {
  const text = decode(raw);
  if (text instanceof EventParseError) return { ok: false, error: text };
  if (text.trim() === '') return fail('not_json', 'message value is empty', ['the value is empty']);

  let candidate: unknown;
  try {
    candidate = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return fail('not_json', `message value is not JSON: ${detail}`, [detail]);
  }

  const problem = checkEvent(candidate);
  if (problem) return fail(problem.kind, `${problem.summary}: ${summarize(problem.violations)}`, problem.violations);
  return { ok: true, event: candidate as EventEnvelope };
}

function decode(raw: Buffer | string | null | undefined): string | EventParseError {
  if (raw === null || raw === undefined) {
    return new EventParseError('not_json', 'message has no value', ['the value is null']);
  }
  if (typeof raw === 'string') return raw;
  try {
    // The decoder drops a leading BOM, which some editors put in front of hand-written JSON.
    return utf8.decode(raw);
  } catch {
    return new EventParseError('not_json', 'message value is not UTF-8 text', ['the value is not valid UTF-8']);
  }
}

function fail(kind: EventParseError['kind'], message: string, violations: string[]): ParseResult {
  return { ok: false, error: new EventParseError(kind, message, violations) };
}
