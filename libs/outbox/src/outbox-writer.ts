import { assertValidEvent, EventEnvelope, eventHeaders } from '@lib/events';
import { currentTraceparent } from '@lib/tracing';
import { EntityManager } from 'typeorm';

/**
 * Writes events to the outbox inside the caller's transaction, and only there:
 * it takes the transaction's `EntityManager`, so the event commits or rolls
 * back together with the state change that caused it (no dual write).
 *
 * The event is validated against its class in `@lib/events` first; an invalid
 * event throws `InvalidEventError`, which rolls the caller's transaction back.
 *
 * With tracing on, each row stores the active span's `traceparent` (the HTTP
 * request's or the consumed message's), which the relay publishes as a Kafka
 * header: the consumer continues the writer's trace.
 */
export class OutboxWriter {
  async write(tx: EntityManager, event: EventEnvelope, extraHeaders: Record<string, string> = {}): Promise<void> {
    await this.writeAll(tx, [event], extraHeaders);
  }

  async writeAll(tx: EntityManager, events: readonly EventEnvelope[], extraHeaders: Record<string, string> = {}): Promise<void> {
    if (!tx.queryRunner?.isTransactionActive) {
      throw new Error('OutboxWriter needs the EntityManager of an open transaction');
    }
    const traceparent = currentTraceparent();
    for (const event of events) {
      assertValidEvent(event);
      await tx.query(
        `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, headers)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          event.id,
          event.type,
          event.type,
          (event.data as { orderId: string }).orderId,
          JSON.stringify(event),
          JSON.stringify({ ...eventHeaders(event, traceparent), ...extraHeaders }),
        ],
      );
    }
  }
}
