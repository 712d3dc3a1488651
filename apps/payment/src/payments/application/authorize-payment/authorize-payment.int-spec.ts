import { EventCause, OutboxEventPublisher } from '@lib/outbox';
import { DependencyUnavailableError } from '@lib/messaging';
import { OrderCreatedV1 } from '@lib/events';
import { randomUUID } from 'node:crypto';
import { AppDatabase, createAppDatabase, outboxOf } from '@lib/testing';
import { paymentService } from '../../../payment.definition';
import { AuthorizationRequest, PaymentDecision, PaymentGateway } from '../../domain/payment';
import { paymentIdFor } from '../../domain/payment-id';
import { AuthorizePaymentHandler } from './authorize-payment.handler';

/** A gateway double: answers by the contract's rule (limit 1000.00) and remembers what it was asked. */
class RecordingGateway implements PaymentGateway {
  readonly requests: AuthorizationRequest[] = [];
  failWith: Error | null = null;

  async authorize(request: AuthorizationRequest): Promise<PaymentDecision> {
    this.requests.push(request);
    if (this.failWith) throw this.failWith;
    return request.amount > 100_000 ? { approved: false, reason: 'limit_exceeded' } : { approved: true };
  }
}

describe('AuthorizePaymentHandler on a real PostgreSQL database', () => {
  let db: AppDatabase;
  let gateway: RecordingGateway;
  let handler: AuthorizePaymentHandler;

  beforeAll(async () => {
    db = await createAppDatabase(paymentService);
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await db.dataSource.query(`TRUNCATE payments, payment_refunds, outbox`);
    gateway = new RecordingGateway();
    handler = new AuthorizePaymentHandler(gateway, new OutboxEventPublisher('payment'), db.dataSource);
  });

  const order = (totalAmount: number): OrderCreatedV1 => ({
    orderId: randomUUID(),
    customerId: 'c-1',
    currency: 'EUR',
    items: [{ sku: 'SKU-1', quantity: 1, unitPrice: totalAmount }],
    totalAmount,
  });
  const cause = (): EventCause => ({ correlationId: `corr-${randomUUID()}`, causationId: randomUUID() });
  /** Both phases, as the consumer runs them: decide with no transaction open, record in one. */
  const authorize = async (o: OrderCreatedV1, c = cause()) => {
    const decision = await handler.decide(o, c);
    if (decision) await db.dataSource.transaction((tx) => handler.record(tx, o, decision, c));
    return decision;
  };
  const paymentsOf = (orderId: string) => db.dataSource.query(`SELECT id, status, reason, amount FROM payments WHERE order_id = $1`, [orderId]);

  it("asks the gateway with the order's stable payment id, then records the payment and payment.completed", async () => {
    const o = order(2500);
    const c = cause();
    expect(await authorize(o, c)).toEqual({ approved: true });

    expect(gateway.requests).toEqual([{ paymentId: paymentIdFor(o.orderId), orderId: o.orderId, amount: 2500, currency: 'EUR' }]);
    expect(await paymentsOf(o.orderId)).toEqual([{ id: paymentIdFor(o.orderId), status: 'AUTHORIZED', reason: null, amount: '2500' }]);
    expect(await outboxOf(db.dataSource)).toEqual([
      {
        topic: 'payment.completed',
        key: o.orderId,
        event: expect.objectContaining({
          type: 'payment.completed',
          source: 'payment',
          ...c,
          data: { orderId: o.orderId, paymentId: paymentIdFor(o.orderId), amount: 2500, currency: 'EUR' },
        }),
      },
    ]);
  });

  it("records a declined payment and payment.failed with the gateway's reason", async () => {
    const o = order(100_001);
    await authorize(o);
    expect(await paymentsOf(o.orderId)).toEqual([expect.objectContaining({ status: 'DECLINED', reason: 'limit_exceeded' })]);
    expect((await outboxOf(db.dataSource)).map((r) => r.event)).toEqual([
      expect.objectContaining({ type: 'payment.failed', data: expect.objectContaining({ reason: 'limit_exceeded' }) }),
    ]);
  });

  it('asks the gateway again with the same idempotency key when the first answer was never recorded (a crash between the phases)', async () => {
    const o = order(900);
    await handler.decide(o, cause()); // answered, then the process died before phase 2 committed
    await authorize(o);
    expect(gateway.requests.map((r) => r.paymentId)).toEqual([paymentIdFor(o.orderId), paymentIdFor(o.orderId)]);
    expect(await paymentsOf(o.orderId)).toHaveLength(1);
  });

  it('does not ask the gateway for an order that already has a payment (another order.created for it)', async () => {
    const o = order(700);
    await authorize(o);
    expect(await authorize(o)).toBeNull();
    expect(gateway.requests).toHaveLength(1);
    expect(await outboxOf(db.dataSource)).toHaveLength(1);
  });

  it('reads which orders of a batch have a payment in one statement, and asks the gateway only for the others', async () => {
    const [paid, fresh] = [order(700), order(800)];
    await authorize(paid);
    const withPayment = await handler.ordersWithPayment([paid.orderId, fresh.orderId]);
    expect([...withPayment]).toEqual([paid.orderId]);
    expect(await handler.decide(paid, cause(), withPayment)).toBeNull();
    expect(await handler.decide(fresh, cause(), withPayment)).toEqual({ approved: true });
    expect(gateway.requests.map((r) => r.orderId)).toEqual([paid.orderId, fresh.orderId]);
  });

  it('records one payment and one event when two order.created of one order are recorded concurrently', async () => {
    const o = order(1200);
    const [first, second] = [cause(), cause()];
    const decisions = await Promise.all([handler.decide(o, first), handler.decide(o, second)]);
    expect(decisions).toEqual([{ approved: true }, { approved: true }]); // both got past phase 1
    await Promise.all([
      db.dataSource.transaction((tx) => handler.record(tx, o, decisions[0]!, first)),
      db.dataSource.transaction((tx) => handler.record(tx, o, decisions[1]!, second)),
    ]);
    expect(await paymentsOf(o.orderId)).toHaveLength(1);
    expect(await outboxOf(db.dataSource)).toHaveLength(1);
  });

  it('writes nothing while the gateway is unavailable: the error reaches the consumer, which waits', async () => {
    const o = order(300);
    gateway.failWith = new DependencyUnavailableError('payment gateway', 'payment gateway unavailable: circuit breaker is open');
    await expect(authorize(o)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await paymentsOf(o.orderId)).toEqual([]);
    expect(await outboxOf(db.dataSource)).toEqual([]);
  });
});
