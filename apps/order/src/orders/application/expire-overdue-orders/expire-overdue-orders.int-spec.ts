import { OutboxEventPublisher } from '@lib/outbox';
import { ServiceMetrics } from '@lib/service';
import { AppDatabase, createAppDatabase, outboxOf } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { orderService } from '../../../order.definition';
import { PlaceOrderHandler } from '../place-order/place-order.handler';
import { SettleOrderHandler } from '../settle-order/settle-order.handler';
import { ExpireOverdueOrdersHandler } from './expire-overdue-orders.handler';

describe('ExpireOverdueOrdersHandler (the saga deadline) on a real PostgreSQL database', () => {
  let db: AppDatabase;
  let expire: ExpireOverdueOrdersHandler;
  let settle: SettleOrderHandler;
  let place: PlaceOrderHandler;

  beforeAll(async () => {
    db = await createAppDatabase(orderService);
    const events = new OutboxEventPublisher('order');
    expire = new ExpireOverdueOrdersHandler(events);
    settle = new SettleOrderHandler(events, new ServiceMetrics(orderService));
    place = new PlaceOrderHandler(db.dataSource, events);
  });

  afterAll(async () => {
    await db?.drop();
  });

  /** A PENDING order placed `ageMs` ago, with its order.created taken out of the outbox. */
  const pendingOrder = async (ageMs: number) => {
    const { order } = await place.execute({
      customerId: 'c-9',
      currency: 'EUR',
      items: [{ sku: 'LAMP', quantity: 1, unitPrice: 4200 }],
      correlationId: `req-${randomUUID()}`,
    });
    await db.dataSource.query(`UPDATE orders SET created_at = now() - $2 * interval '1 millisecond' WHERE id = $1`, [order.id, ageMs]);
    await db.dataSource.query(`DELETE FROM outbox`);
    return order;
  };
  const statusOf = async (id: string) => (await db.dataSource.query(`SELECT status, status_reason FROM orders WHERE id = $1`, [id]))[0];
  const sweep = (deadlineMs: number) => db.dataSource.transaction((tx) => expire.execute(tx, deadlineMs));

  it('cancels a PENDING order past its deadline with payment_timeout and publishes order.cancelled with its correlation id; younger and settled orders stay as they are', async () => {
    const overdue = await pendingOrder(60_000);
    const young = await pendingOrder(1000);
    const settled = await pendingOrder(60_000);
    await db.dataSource.transaction((tx) => settle.execute(tx, { kind: 'completed', orderId: settled.id, paymentId: randomUUID() }, { correlationId: 'c' }));
    await db.dataSource.query(`DELETE FROM outbox`);

    expect(await sweep(30_000)).toEqual([overdue.id]);
    expect(await statusOf(overdue.id)).toEqual({ status: 'CANCELLED', status_reason: 'payment_timeout' });
    expect(await statusOf(young.id)).toEqual({ status: 'PENDING', status_reason: null });
    expect(await statusOf(settled.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
    expect(await outboxOf(db.dataSource)).toEqual([
      {
        topic: 'order.cancelled',
        key: overdue.id,
        event: expect.objectContaining({
          type: 'order.cancelled',
          correlationId: overdue.correlationId,
          causationId: null,
          data: { orderId: overdue.id, reason: 'payment_timeout', totalAmount: 4200, currency: 'EUR' },
        }),
      },
    ]);
    expect(await sweep(30_000)).toEqual([]);
  });

  it('skips an order a payment event is settling at that moment (row locked), which then settles it', async () => {
    const order = await pendingOrder(60_000);
    const runner = db.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.query(`SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, [order.id]);
      expect(await sweep(30_000)).toEqual([]);
      await settle.execute(runner.manager, { kind: 'completed', orderId: order.id, paymentId: randomUUID() }, { correlationId: 'c' });
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await statusOf(order.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
  });

  it('answers a payment.completed for an order cancelled at its deadline with payment.void-requested, once per event, and leaves the order cancelled', async () => {
    const order = await pendingOrder(60_000);
    await sweep(30_000);
    await db.dataSource.query(`DELETE FROM outbox`);
    const paymentId = randomUUID();
    const cause = { correlationId: order.correlationId, causationId: randomUUID() };

    await db.dataSource.transaction((tx) => settle.execute(tx, { kind: 'completed', orderId: order.id, paymentId }, cause));
    expect(await statusOf(order.id)).toEqual({ status: 'CANCELLED', status_reason: 'payment_timeout' });
    expect(await outboxOf(db.dataSource)).toEqual([
      {
        topic: 'payment.void-requested',
        key: order.id,
        event: expect.objectContaining({
          type: 'payment.void-requested',
          source: 'order',
          ...cause,
          data: { orderId: order.id, paymentId, amount: 4200, currency: 'EUR', reason: 'payment_timeout' },
        }),
      },
    ]);
  });
});
