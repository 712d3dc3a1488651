import { OutboxEventPublisher } from '@lib/outbox';
import { ServiceMetrics } from '@lib/service';
import { randomUUID } from 'node:crypto';
import { AppDatabase, createAppDatabase, outboxOf } from '@lib/testing';
import { orderService } from '../../../order.definition';
import { OrderNotFoundError } from '../../domain/order';
import { PlaceOrderHandler } from '../place-order/place-order.handler';
import { PaymentOutcome, SettleOrderHandler } from './settle-order.handler';

describe('SettleOrderHandler on a real PostgreSQL database', () => {
  let db: AppDatabase;
  let settle: SettleOrderHandler;
  let place: PlaceOrderHandler;

  beforeAll(async () => {
    db = await createAppDatabase(orderService);
    const events = new OutboxEventPublisher('order');
    settle = new SettleOrderHandler(events, new ServiceMetrics(orderService));
    place = new PlaceOrderHandler(db.dataSource, events);
  });

  afterAll(async () => {
    await db?.drop();
  });

  /** A PENDING order, with its order.created taken out of the outbox. */
  const pendingOrder = async () => {
    const { order } = await place.execute({
      customerId: 'c-7',
      currency: 'EUR',
      items: [{ sku: 'MUG', quantity: 3, unitPrice: 900 }],
      correlationId: `req-${randomUUID()}`,
    });
    await db.dataSource.query(`DELETE FROM outbox`);
    return order;
  };
  const cause = () => ({ correlationId: `corr-${randomUUID()}`, causationId: randomUUID() });
  const run = (outcome: PaymentOutcome, c = cause()) => db.dataSource.transaction((tx) => settle.execute(tx, outcome, c));
  const statusOf = async (id: string) => (await db.dataSource.query(`SELECT status, status_reason FROM orders WHERE id = $1`, [id]))[0];

  it('confirms a PENDING order on payment.completed and publishes order.confirmed, caused by the payment event', async () => {
    const order = await pendingOrder();
    const paymentId = randomUUID();
    const c = cause();
    await run({ kind: 'completed', orderId: order.id, paymentId }, c);

    expect(await statusOf(order.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
    expect(await outboxOf(db.dataSource)).toEqual([
      {
        topic: 'order.confirmed',
        key: order.id,
        event: expect.objectContaining({
          type: 'order.confirmed',
          source: 'order',
          ...c,
          data: { orderId: order.id, paymentId, totalAmount: 2700, currency: 'EUR' },
        }),
      },
    ]);
  });

  it("cancels a PENDING order on payment.failed with the payment's reason and publishes order.cancelled", async () => {
    const order = await pendingOrder();
    await run({ kind: 'failed', orderId: order.id, paymentId: randomUUID(), reason: 'limit_exceeded' });

    expect(await statusOf(order.id)).toEqual({ status: 'CANCELLED', status_reason: 'limit_exceeded' });
    expect((await outboxOf(db.dataSource)).map((r) => r.event)).toEqual([
      expect.objectContaining({ type: 'order.cancelled', data: { orderId: order.id, reason: 'limit_exceeded', totalAmount: 2700, currency: 'EUR' } }),
    ]);
  });

  it('leaves a settled order as it is — status never moves back — and publishes nothing', async () => {
    const order = await pendingOrder();
    await run({ kind: 'completed', orderId: order.id, paymentId: randomUUID() });
    await db.dataSource.query(`DELETE FROM outbox`);

    await run({ kind: 'failed', orderId: order.id, paymentId: randomUUID(), reason: 'late' });
    expect(await statusOf(order.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
    expect(await outboxOf(db.dataSource)).toEqual([]);
  });

  it('fails for an order it does not have, writing nothing (the consumer retries, then dead-letters)', async () => {
    await db.dataSource.query(`DELETE FROM outbox`);
    await expect(run({ kind: 'completed', orderId: randomUUID(), paymentId: randomUUID() })).rejects.toBeInstanceOf(OrderNotFoundError);
    expect(await outboxOf(db.dataSource)).toEqual([]);
  });

  describe('with the amount the payment was for (as the payment events carry it)', () => {
    const paid = { amount: 2700, currency: 'EUR' };

    it.each([
      ['completed', { kind: 'completed' as const }, 'CONFIRMED', null, 'order.confirmed'],
      ['failed', { kind: 'failed' as const, reason: 'limit_exceeded' }, 'CANCELLED', 'limit_exceeded', 'order.cancelled'],
    ])('settles on payment.%s and writes its event in one statement', async (_, kind, status, reason, type) => {
      const order = await pendingOrder();
      const paymentId = randomUUID();
      const statements: string[] = [];
      await db.dataSource.transaction((tx) => {
        const query = tx.query.bind(tx);
        tx.query = ((sql: string, parameters?: unknown[]) => (statements.push(sql), query(sql, parameters))) as typeof tx.query;
        return settle.execute(tx, { ...kind, orderId: order.id, paymentId, paid }, cause());
      });

      expect(statements).toHaveLength(1);
      expect(await statusOf(order.id)).toEqual({ status, status_reason: reason });
      const expected =
        kind.kind === 'completed'
          ? { orderId: order.id, paymentId, totalAmount: 2700, currency: 'EUR' }
          : { orderId: order.id, reason: 'limit_exceeded', totalAmount: 2700, currency: 'EUR' };
      expect((await outboxOf(db.dataSource)).map((r) => r.event)).toEqual([expect.objectContaining({ type, data: expected })]);
    });

    it("settles with the order's own total when the payment was for another amount", async () => {
      const order = await pendingOrder();
      const paymentId = randomUUID();
      await run({ kind: 'completed', orderId: order.id, paymentId, paid: { amount: 1, currency: 'USD' } });
      expect(await statusOf(order.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
      expect((await outboxOf(db.dataSource)).map((r) => r.event.data)).toEqual([{ orderId: order.id, paymentId, totalAmount: 2700, currency: 'EUR' }]);
    });

    it('leaves a settled order as it is and publishes nothing', async () => {
      const order = await pendingOrder();
      await run({ kind: 'completed', orderId: order.id, paymentId: randomUUID(), paid });
      await db.dataSource.query(`DELETE FROM outbox`);
      await run({ kind: 'failed', orderId: order.id, paymentId: randomUUID(), reason: 'late', paid });
      expect(await statusOf(order.id)).toEqual({ status: 'CONFIRMED', status_reason: null });
      expect(await outboxOf(db.dataSource)).toEqual([]);
    });
  });
});
