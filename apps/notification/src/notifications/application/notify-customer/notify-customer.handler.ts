import { applyWork, StatementWork } from '@lib/messaging';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { composeMessage, NOTIFICATION_CHANNELS, NotifiableEvent, NotificationChannel } from '../../domain/notification';

/** The columns a notification is recorded with, in the order of the INSERT's parameters. */
const COLUMNS = [
  'event_id',
  'event_type',
  'order_id',
  'channel',
  'subject',
  'body',
  'correlation_id',
  'source_topic',
  'source_partition',
  'source_offset',
  'event_payload',
] as const;

/** Where an event was read; kept with its notifications, for a dead letter's headers. */
export interface EventSource {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Records one notification per (event, configured channel), undelivered, in
 * the caller's transaction — the consumer's, which also holds the inbox row —
 * so "event handled" and "notifications to deliver" commit together. Nothing
 * is delivered here: the dispatcher delivers the rows after the commit, so a
 * slow channel never holds a transaction or the consumer. The unique
 * (event_id, channel) pair backs up the inbox: an event never produces two
 * rows for one channel; a channel already recorded for the event is left as it is.
 */
@Injectable()
export class NotifyCustomerHandler {
  constructor(@Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[]) {}

  /** Resolves with the number of notifications recorded (0 when every channel had one already). */
  async execute(tx: EntityManager, event: NotifiableEvent, source: EventSource): Promise<number> {
    let recorded = 0;
    await applyWork<{ recorded: number }>(tx, { ...this.work(event, source), applied: ([row]) => (recorded = row.recorded) });
    return recorded;
  }

  /**
   * The notifications as the consumer's transactional work: one INSERT of a
   * row per channel, which the runtime sends with the inbox row as one
   * statement. It always returns its one row (the count), so it always applies.
   */
  work(event: NotifiableEvent, source: EventSource): StatementWork<{ recorded: number }> {
    const message = composeMessage(event);
    const payload = JSON.stringify(event);
    const values: string[] = [];
    const parameters: unknown[] = [];
    for (const channel of this.channels) {
      const n = parameters.length;
      values.push(`(${Array.from({ length: COLUMNS.length }, (_, i) => `$${n + i + 1}`).join(', ')})`);
      parameters.push(message.eventId, message.eventType, message.orderId, channel.name, message.subject, message.body, message.correlationId);
      parameters.push(source.topic, source.partition, source.offset, payload);
    }
    // A raw statement on this per-message path: TypeORM's query builder cost more CPU than the insert (ADR 0016).
    return {
      with: `inserted AS (INSERT INTO notifications (${COLUMNS.join(', ')}) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING RETURNING id)`,
      select: 'SELECT count(*)::int AS recorded FROM inserted',
      parameters,
      otherwise: async () => 0, // never: a count is always one row
    };
  }
}
