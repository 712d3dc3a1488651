import { AppDatabase, createAppDatabase, orderConfirmed } from '@lib/testing';
import { notificationService } from '../../../notification.definition';
import { NotificationChannel } from '../../domain/notification';
import { NotifyCustomerHandler } from './notify-customer.handler';

describe('NotifyCustomerHandler on a real PostgreSQL database', () => {
  let db: AppDatabase;
  const delivered: string[] = [];
  const channel = (name: string): NotificationChannel => ({ name, maxDeliveryMs: 100, deliver: async (m) => void delivered.push(`${name}:${m.eventId}`) });
  let handler: NotifyCustomerHandler;

  beforeAll(async () => {
    db = await createAppDatabase(notificationService);
    handler = new NotifyCustomerHandler([channel('log'), channel('webhook')]);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const confirmed = () => orderConfirmed();
  const source = { topic: 'order.confirmed', partition: 2, offset: '41' };
  const rowsOf = (eventId: string) =>
    db.dataSource.query(
      `SELECT channel, subject, correlation_id, delivered_at, attempts, source_topic, source_partition, source_offset, event_payload
       FROM notifications WHERE event_id = $1 ORDER BY channel`,
      [eventId],
    );

  it('records one undelivered notification per channel, with the event and where it was read, and delivers nothing itself', async () => {
    const event = confirmed();
    expect(await db.dataSource.transaction((tx) => handler.execute(tx, event, source))).toBe(2);

    const expected = {
      subject: 'Order confirmed',
      correlation_id: event.correlationId,
      delivered_at: null,
      attempts: 0,
      source_topic: 'order.confirmed',
      source_partition: 2,
      source_offset: '41',
      event_payload: event,
    };
    expect(await rowsOf(event.id)).toEqual([
      { channel: 'log', ...expected },
      { channel: 'webhook', ...expected },
    ]);
    expect(delivered).toEqual([]);
  });

  it('records nothing for a channel the event already has a notification on', async () => {
    const event = confirmed();
    await db.dataSource.transaction((tx) => handler.execute(tx, event, source));
    expect(await db.dataSource.transaction((tx) => handler.execute(tx, event, source))).toBe(0);
    expect(await rowsOf(event.id)).toHaveLength(2);
  });

  it('records nothing when the transaction rolls back', async () => {
    const event = confirmed();
    await expect(
      db.dataSource.transaction(async (tx) => {
        await handler.execute(tx, event, source);
        throw new Error('the inbox insert failed after it');
      }),
    ).rejects.toThrow('the inbox insert failed');
    expect(await rowsOf(event.id)).toEqual([]);
  });
});
