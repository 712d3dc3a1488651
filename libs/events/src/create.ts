import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from './envelope';
import { InvalidEventError } from './errors';
import type { EventType } from './event-types';
import { EventDataMap, isKnownEventType, latestVersion } from './registry';
import type { AppName } from './topics';
import { checkEvent } from './validation';

/** Envelope fields the caller supplies or overrides when creating an event. */
export interface CreateEventMeta {
  /** The app publishing the event. */
  source: AppName;
  /** Carried over from the request or the causing event, so one order's events share it. */
  correlationId: string;
  /** Id of the event being handled when this one was produced; `null` (default) for an HTTP request. */
  causationId?: string | null;
  /** Defaults to a fresh UUID v4; pass one only to make a retry produce the same event. */
  id?: string;
  /** When the fact happened; defaults to now. A `Date` is written as ISO-8601 UTC. */
  occurredAt?: Date | string;
  /** Defaults to the newest registered version of `type`. */
  version?: number;
}

/**
 * Builds a valid event, or throws {@link InvalidEventError} listing every
 * problem. The data is copied through JSON, so the returned event is exactly
 * what will be on the wire (no class instances, no `undefined` fields) and
 * later changes to the caller's object do not leak into it.
 */
export function createEvent<T extends EventType>(type: T, data: EventDataMap[T], meta: CreateEventMeta): EventEnvelope<T> {
  const envelope = buildEvent(type, data, meta);
  assertValidEvent(envelope);
  return envelope;
}

/**
 * The envelope {@link createEvent} would return, not yet validated: for a
 * caller that hands it on to the one place that validates before writing (the
 * outbox writer), so an outgoing event is validated once, not twice. Throws
 * {@link InvalidEventError} only for what cannot be put on the wire at all
 * (an invalid `Date`, data that is not JSON).
 */
export function buildEvent<T extends EventType>(type: T, data: EventDataMap[T], meta: CreateEventMeta): EventEnvelope<T> {
  const occurredAt = meta.occurredAt ?? new Date();
  return {
    id: meta.id ?? randomUUID(),
    type,
    version: meta.version ?? (isKnownEventType(type) ? latestVersion(type) : 1),
    occurredAt: occurredAt instanceof Date ? toIso(occurredAt) : occurredAt,
    source: meta.source,
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? null,
    data: jsonCopy(data),
  } as EventEnvelope<T>;
}

/**
 * Every way `envelope` breaks the contract (envelope, type/version, data),
 * one sentence each; empty when it is a valid event. Applies exactly the
 * rules consumers apply in {@link parseEvent}.
 */
export function validateEvent(envelope: unknown): string[] {
  return checkEvent(envelope)?.violations ?? [];
}

/**
 * Throws {@link InvalidEventError} unless `envelope` is a valid event. The
 * outbox writer calls it before inserting a row, so a row that consumers
 * would dead-letter is never written.
 */
export function assertValidEvent(envelope: unknown): asserts envelope is EventEnvelope {
  const violations = validateEvent(envelope);
  if (violations.length > 0) throw new InvalidEventError(violations);
}

function toIso(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new InvalidEventError(['occurredAt is an invalid Date']);
  return date.toISOString();
}

function jsonCopy(data: unknown): unknown {
  try {
    return data === undefined ? undefined : JSON.parse(JSON.stringify(data));
  } catch (err) {
    // BigInt values and circular references cannot be put on the wire.
    throw new InvalidEventError([`data cannot be written as JSON: ${err instanceof Error ? err.message : String(err)}`]);
  }
}
