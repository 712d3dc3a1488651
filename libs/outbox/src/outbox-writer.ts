import { assertValidEvent, EventEnvelope, eventHeaders, eventKey, topicFor } from '@lib/events';
import { currentTraceparent } from '@lib/tracing';
import { EntityManager } from 'typeorm';

/**
 * What the writer needs of the caller's transaction: a way to run SQL in it.
 * Kept this narrow so that the transaction type can change (e.g. to a raw
 * `pg` client inside BEGIN/COMMIT) without touching the writer's callers;
 * today it is TypeORM's `EntityManager` of the transaction.
 */
export interface OutboxTransaction {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Writes events to the outbox inside the caller's transaction, and only there:
 * the event commits or rolls back together with the state change that caused
 * it (no dual write).
 *
 * This is where an outgoing event is validated — once — against its class in
 * `@lib/events`: an invalid event throws `InvalidEventError`, which rolls the
 * caller's transaction back, so a row consumers would dead-letter is never
 * written. Topic and key come from the contract (`topicFor`, `eventKey`).
 *
 * With tracing on, each row stores the active span's `traceparent` (the HTTP
 * request's or the consumed message's), which the relay publishes as a Kafka
 * header: the consumer continues the writer's trace.
 *
 * Application code does not use this class: it publishes through the
 * {@link EventPublisher} port, which fills in the envelope for its app.
 */
export class OutboxWriter {
  async write(tx: OutboxTransaction, event: EventEnvelope, extraHeaders: Record<string, string> = {}): Promise<void> {
    await this.writeAll(tx, [event], extraHeaders);
  }

  /** Writes the events with one INSERT, in the given order (the relay publishes them in this order). */
  async writeAll(tx: OutboxTransaction, events: readonly EventEnvelope[], extraHeaders: Record<string, string> = {}): Promise<void> {
    // An EntityManager says whether it belongs to an open transaction; anything else is taken at its word.
    if (tx instanceof EntityManager && !tx.queryRunner?.isTransactionActive) {
      throw new Error('OutboxWriter needs the EntityManager of an open transaction');
    }
    if (events.length === 0) return;
    const { sql, parameters } = this.insertFor(events, 1, extraHeaders);
    await tx.query(sql, parameters);
  }

  /**
   * The INSERT of the events' outbox rows as a statement, not run: its
   * parameters numbered from `firstParameter`, for a caller that writes its
   * own row and the events in one statement (a data-modifying `WITH`: one
   * statement commits all of it or none, without the round trips of
   * BEGIN/COMMIT). The events are validated here, as by {@link writeAll}.
   * With `onlyIf` (a SQL condition; one event only), the row is written
   * only when the condition holds.
   */
  insertFor(
    events: readonly EventEnvelope[],
    firstParameter = 1,
    extraHeaders: Record<string, string> = {},
    onlyIf?: string,
  ): { sql: string; parameters: unknown[] } {
    if (events.length === 0) throw new Error('OutboxWriter.insertFor needs at least one event');
    if (onlyIf !== undefined && events.length > 1) throw new Error('OutboxWriter.insertFor writes one event, not several, under a condition');
    const traceparent = currentTraceparent();
    const values: string[] = [];
    const parameters: unknown[] = [];
    for (const event of events) {
      assertValidEvent(event);
      const n = firstParameter - 1 + parameters.length;
      values.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6})`);
      parameters.push(
        event.id,
        event.type,
        topicFor(event.type),
        eventKey(event),
        JSON.stringify(event),
        JSON.stringify({ ...eventHeaders(event, traceparent), ...extraHeaders }),
      );
    }
    const into = `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, headers)`;
    // INSERT … SELECT: the parameters take the columns' types, as in VALUES.
    if (onlyIf !== undefined) return { sql: `${into} SELECT ${values[0].slice(1, -1)} WHERE ${onlyIf}`, parameters };
    return { sql: `${into} VALUES ${values.join(', ')}`, parameters };
  }
}
