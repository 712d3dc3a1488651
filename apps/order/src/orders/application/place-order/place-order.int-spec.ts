import { InvalidEventError } from '@lib/events';
import { OutboxEventPublisher } from '@lib/outbox';
import { randomUUID } from 'node:crypto';
import { AppDatabase, createAppDatabase, outboxOf } from '@lib/testing';
import { orderService } from '../../../order.definition';
import { IdempotencyConflictError } from '../../domain/order';
import { PlaceOrderCommand, PlaceOrderHandler } from './place-order.handler';

describe('PlaceOrderHandler on a real PostgreSQL database', () => {
  let db: AppDatabase;
  let handler: PlaceOrderHandler;

  beforeAll(async () => {
    db = await createAppDatabase(orderService);
    handler = new PlaceOrderHandler(db.dataSource, new OutboxEventPublisher('order'));
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await db.dataSource.query(`TRUNCATE orders, outbox`);
  });

  const command = (overrides: Partial<PlaceOrderCommand> = {}): PlaceOrderCommand => ({
    customerId: 'c-42',
    currency: 'EUR',
    items: [
      { sku: 'BOOK-1', quantity: 2, unitPrice: 1250 },
      { sku: 'PEN-3', quantity: 1, unitPrice: 199 },
    ],
    correlationId: `req-${randomUUID()}`,
    ...overrides,
  });
  const orders = () => db.dataSource.query(`SELECT id, status, total_amount, customer_id FROM orders`);

  it("creates a PENDING order with its total and its order.created, published by order with the request's correlation id", async () => {
    const placed = command();
    const { order, created } = await handler.execute(placed);

    expect(created).toBe(true);
    expect(order).toMatchObject({ status: 'PENDING', customerId: 'c-42', totalAmount: 2699, currency: 'EUR', correlationId: placed.correlationId });
    expect(order.createdAt).toBeInstanceOf(Date);
    expect(await orders()).toEqual([{ id: order.id, status: 'PENDING', total_amount: '2699', customer_id: 'c-42' }]);
    expect(await outboxOf(db.dataSource)).toEqual([
      {
        topic: 'order.created',
        key: order.id,
        event: expect.objectContaining({
          type: 'order.created',
          source: 'order',
          correlationId: placed.correlationId,
          causationId: null,
          data: { orderId: order.id, customerId: 'c-42', currency: 'EUR', items: placed.items, totalAmount: 2699 },
        }),
      },
    ]);
  });

  it('answers a retry with the same Idempotency-Key and body with the first order, and publishes nothing more', async () => {
    const first = await handler.execute(command({ idempotencyKey: 'key-1' }));
    const again = await handler.execute({ ...command({ idempotencyKey: 'key-1' }), correlationId: 'another-request' });
    expect(again).toMatchObject({ created: false, order: { id: first.order.id } });
    expect(await orders()).toHaveLength(1);
    expect(await outboxOf(db.dataSource)).toHaveLength(1);
  });

  it('refuses the same Idempotency-Key with another body, writing nothing', async () => {
    await handler.execute(command({ idempotencyKey: 'key-2' }));
    await expect(handler.execute(command({ idempotencyKey: 'key-2', customerId: 'someone-else' }))).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await orders()).toHaveLength(1);
  });

  it('makes one order of two concurrent requests with one Idempotency-Key', async () => {
    const results = await Promise.all([handler.execute(command({ idempotencyKey: 'key-3' })), handler.execute(command({ idempotencyKey: 'key-3' }))]);
    expect(new Set(results.map((r) => r.order.id)).size).toBe(1);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(await orders()).toHaveLength(1);
    expect(await outboxOf(db.dataSource)).toHaveLength(1);
  });

  it('rolls the order back with its event when the event would break the contract', async () => {
    // The HTTP DTO keeps this out; here the use case is called directly with a lower-case currency.
    await expect(handler.execute(command({ currency: 'eur' }))).rejects.toBeInstanceOf(InvalidEventError);
    expect(await orders()).toEqual([]);
    expect(await outboxOf(db.dataSource)).toEqual([]);
  });
});
