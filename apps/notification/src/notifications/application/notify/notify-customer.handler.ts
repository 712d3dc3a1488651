import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { composeMessage, NOTIFICATION_CHANNELS, NotifiableEvent, NotificationChannel } from '../../domain/notification';
import { NotificationRecord } from '../../infrastructure/notification.record';

/**
 * Records one notification per (event, channel) in the caller's transaction
 * and delivers it. The unique (event_id, channel) pair backs up the inbox: an
 * event can never produce two rows for one channel.
 */
@Injectable()
export class NotifyCustomerHandler {
  constructor(@Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[]) {}

  async execute(tx: EntityManager, event: NotifiableEvent): Promise<void> {
    const message = composeMessage(event);
    for (const channel of this.channels) {
      const inserted = await tx
        .createQueryBuilder()
        .insert()
        .into(NotificationRecord)
        .values({ ...message, channel: channel.name })
        .orIgnore()
        .returning('id')
        .execute();
      if (inserted.raw.length === 0) continue;
      await channel.deliver(message);
    }
  }
}
