import { AppName, buildEvent, EventDataMap, EventEnvelope, EventType } from '@lib/events';
import { OutboxTransaction, OutboxWriter } from './outbox-writer';

/**
 * What caused an event: the correlation id it carries on, and the id of the
 * event being handled (`KafkaEventContext.causedBy()` gives both), or no
 * causation id when an HTTP request caused it.
 */
export interface EventCause {
  correlationId: string;
  causationId?: string | null;
}

/**
 * The port through which application code publishes events. It is bound to
 * the app (which is the events' `source`), fills in the envelope — id, time,
 * version, correlation and causation — and writes the event in the caller's
 * transaction, so it is published if and only if that transaction commits.
 * Topic and key follow from the contract (`libs/events`), never from the caller.
 *
 * An abstract class rather than an interface so that it is its own Nest
 * injection token: handlers take `EventPublisher` in their constructor.
 */
export abstract class EventPublisher {
  /**
   * Publishes one event of `type` with `data`, in `tx`. Throws
   * `InvalidEventError` (rolling `tx` back) if the event breaks the contract.
   * Resolves with the event as it will be on the wire.
   */
  abstract publish<T extends EventType>(tx: OutboxTransaction, type: T, data: EventDataMap[T], cause: EventCause): Promise<EventEnvelope<T>>;

  /**
   * The same event as a statement to run rather than a write: `sql` inserts
   * its outbox row, with `parameters` numbered from `firstParameter`. For a
   * caller that writes its state and the event in one statement (a
   * data-modifying `WITH` commits both or neither, without BEGIN/COMMIT, or
   * saves a round trip inside a transaction). With `onlyIf`, a SQL condition
   * (e.g. `EXISTS (SELECT 1 FROM inserted)`, over an earlier part of the
   * same `WITH`), the row is written only when it holds.
   * Throws `InvalidEventError` at once if the event breaks the contract.
   */
  abstract publishStatement<T extends EventType>(
    type: T,
    data: EventDataMap[T],
    cause: EventCause,
    firstParameter: number,
    onlyIf?: string,
  ): PublishStatement<T>;
}

/** An event and the statement that writes it to the outbox (see {@link EventPublisher.publishStatement}). */
export interface PublishStatement<T extends EventType> {
  event: EventEnvelope<T>;
  sql: string;
  parameters: unknown[];
}

/** {@link EventPublisher} over the transactional outbox of one app. */
export class OutboxEventPublisher extends EventPublisher {
  constructor(
    private readonly app: AppName,
    private readonly writer: OutboxWriter = new OutboxWriter(),
  ) {
    super();
  }

  async publish<T extends EventType>(tx: OutboxTransaction, type: T, data: EventDataMap[T], cause: EventCause): Promise<EventEnvelope<T>> {
    // Validated once, by the writer, right before the row is written.
    const event = this.build(type, data, cause);
    await this.writer.write(tx, event as EventEnvelope);
    return event;
  }

  publishStatement<T extends EventType>(type: T, data: EventDataMap[T], cause: EventCause, firstParameter: number, onlyIf?: string): PublishStatement<T> {
    const event = this.build(type, data, cause);
    return { event, ...this.writer.insertFor([event as EventEnvelope], firstParameter, {}, onlyIf) };
  }

  private build<T extends EventType>(type: T, data: EventDataMap[T], cause: EventCause): EventEnvelope<T> {
    return buildEvent(type, data, { source: this.app, correlationId: cause.correlationId, causationId: cause.causationId ?? null });
  }
}
