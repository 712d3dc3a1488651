import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { composeMessage, NOTIFICATION_CHANNELS, NotifiableEvent, NotificationChannel } from '../../domain/notification';
import { NotificationRecord } from '../../infrastructure/notification.record';

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
    const message = composeMessage(event);
    const inserted = await tx
      .createQueryBuilder()
      .insert()
      .into(NotificationRecord)
      .values(
        this.channels.map((channel) => ({
          ...message,
          channel: channel.name,
          sourceTopic: source.topic,
          sourcePartition: source.partition,
          sourceOffset: source.offset,
          eventPayload: event,
        })),
      )
      .orIgnore()
      .returning('id')
      .execute();
    return (inserted.raw as unknown[]).length;
  }
}
