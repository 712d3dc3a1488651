import type { EventEnvelope } from './envelope';

/**
 * Kafka header names. Headers repeat envelope fields so that brokers, DLQ
 * tooling and tracing can route and inspect without decoding the value; the
 * value stays the source of truth, and consumers must work without headers.
 */
export const EventHeaders = {
  EventId: 'event-id',
  EventType: 'event-type',
  EventVersion: 'event-version',
  CorrelationId: 'correlation-id',
  /** W3C Trace Context parent, present only when tracing is on. */
  Traceparent: 'traceparent',
} as const;

/** One of the {@link EventHeaders} names. */
export type EventHeaderName = (typeof EventHeaders)[keyof typeof EventHeaders];

/** The Kafka message value of an event: its JSON envelope as UTF-8. */
export function encodeEvent(event: EventEnvelope): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * The Kafka headers of an event. `traceparent` is passed through as given
 * (this library does not depend on a tracer) and omitted when empty.
 */
export function eventHeaders(event: EventEnvelope, traceparent?: string): Record<string, string> {
  const headers: Record<string, string> = {
    [EventHeaders.EventId]: event.id,
    [EventHeaders.EventType]: event.type,
    [EventHeaders.EventVersion]: String(event.version),
    [EventHeaders.CorrelationId]: event.correlationId,
  };
  if (traceparent) headers[EventHeaders.Traceparent] = traceparent;
  return headers;
}

/**
 * The Kafka key of an event: its order id. Every event type carries
 * `data.orderId`, so all events of one order land on one partition, in order.
 */
export function eventKey(event: EventEnvelope): string {
  return event.data.orderId;
}
