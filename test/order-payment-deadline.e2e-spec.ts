import { deadLetterTopic, Topics } from '@lib/events';
import { eventually, InProcessApp, privateBroker, startSystem, System, TopicRecorder } from '@lib/testing';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(240_000);

const DEADLINE_MS = 15_000;

type OrderView = { id: string; status: string; reason?: string | null };
type NotificationView = { eventType: string; channel: string };

/**
 * Issue 11, failure mode 10: a PENDING order must not stay pending forever.
 * The payment app dead-letters one order's `order.created` (a check
 * constraint the test adds refuses that order's payment row, a failure of the
 * message); the order app cancels the order at its deadline
 * (`payment_timeout`) and the customer hears of it once. Then the dead letter
 * is replayed, as an operator would: the payment completes for an order
 * already cancelled, and the saga compensates — the order app asks for a void
 * (`payment.void-requested`), the payment app voids the payment and records
 * the refund (`payment.voided`), and the customer is told once.
 */
describe('an order whose payment never comes', () => {
  let system: System<InProcessApp>;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-payment-deadline',
      kafka: privateBroker({ port: 29482 }),
      inProcess: ALL_APPS,
      env: {
        LOG_LEVEL: 'warn',
        ORDER_PAYMENT_DEADLINE_MS: String(DEADLINE_MS),
        ORDER_DEADLINE_CHECK_INTERVAL_MS: '500',
        CONSUMER_MAX_ATTEMPTS: '2',
        CONSUMER_RETRY_BACKOFF_MS: '50',
        CONSUMER_MAX_RETRY_BACKOFF_MS: '200',
        OUTBOX_POLL_INTERVAL_MS: '200',
      },
    });
    recorder = await system.record([
      Topics.OrderCreated,
      Topics.OrderCancelled,
      Topics.PaymentCompleted,
      deadLetterTopic('payment'),
      'payment.void-requested',
      'payment.voided',
    ]);
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  }, 120_000);

  const order = async (id: string) => (await system.http('order').get(`/orders/${id}`)).body as OrderView;
  const notifications = async (orderId: string) =>
    ((await system.http('notification').get('/notifications').query({ orderId })).body as { items: NotificationView[] }).items;
  const countOf = (items: NotificationView[], eventType: string) => items.filter((n) => n.eventType === eventType).length;

  it('is cancelled at its deadline (payment_timeout) with the customer notified once, and a payment completing after that is voided, recorded and notified once', async () => {
    const { body: placed } = await system
      .http('order')
      .post('/orders')
      .send({ customerId: 'c-deadline', currency: 'EUR', items: [{ sku: 'SLOW', quantity: 1, unitPrice: 4200 }] })
      .expect(201);
    const orderId = (placed as OrderView).id;
    // The payment app cannot record this order's payment: its order.created fails and is dead-lettered.
    await system.sql('payment').query(`ALTER TABLE payments ADD CONSTRAINT refuse_one_order CHECK (order_id <> '${orderId}')`);

    const [deadLetter] = await recorder.waitFor(1, (m) => m.topic === deadLetterTopic('payment') && m.key?.toString() === orderId, 60_000);
    expect((await order(orderId)).status).toBe('PENDING');

    // Cancelled at its deadline, not before; order.cancelled published; the customer told once.
    const cancelled = await eventually(() => order(orderId), {
      accept: (o) => o.status === 'CANCELLED',
      timeoutMs: DEADLINE_MS + 30_000,
      what: 'order cancelled at its deadline',
    });
    const { rows: timing } = await system
      .sql('order')
      .query(`SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders WHERE id = $1`, [orderId]);
    expect(Number(timing[0].ms)).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(cancelled.reason).toBe('payment_timeout');
    const [cancellation] = await recorder.waitFor(1, (m) => m.topic === Topics.OrderCancelled && m.key?.toString() === orderId);
    expect(JSON.parse(cancellation.value!.toString()).data).toMatchObject({ orderId, reason: 'payment_timeout', totalAmount: 4200, currency: 'EUR' });
    await eventually(() => notifications(orderId), { accept: (items) => countOf(items, Topics.OrderCancelled) === 1, what: 'cancellation notified' });

    // The dead letter is replayed after the cause is removed: the payment completes for an order already cancelled.
    await system.sql('payment').query(`ALTER TABLE payments DROP CONSTRAINT refuse_one_order`);
    await system.producer().send([{ topic: Topics.OrderCreated, key: orderId, value: deadLetter.value!.toString() }]);
    await recorder.waitFor(1, (m) => m.topic === Topics.PaymentCompleted && m.key?.toString() === orderId, 60_000);

    // Compensation: a void is requested once, the payment is voided and the refund recorded once, the customer told once.
    const [voidRequest] = await recorder.waitFor(1, (m) => m.topic === 'payment.void-requested' && m.key?.toString() === orderId, 60_000);
    expect(JSON.parse(voidRequest.value!.toString())).toMatchObject({
      type: 'payment.void-requested',
      version: 1,
      source: 'order',
      data: { orderId, amount: 4200, currency: 'EUR', reason: 'payment_timeout' },
    });
    await recorder.waitFor(1, (m) => m.topic === 'payment.voided' && m.key?.toString() === orderId, 60_000);
    const { rows: refunds } = await system.sql('payment').query(`SELECT amount, currency, reason FROM payment_refunds WHERE order_id = $1`, [orderId]);
    expect(refunds).toEqual([{ amount: '4200', currency: 'EUR', reason: 'payment_timeout' }]);
    const { body: payments } = await system.http('payment').get('/payments').query({ orderId }).expect(200);
    expect(payments.items ?? payments).toEqual([expect.objectContaining({ orderId, status: 'VOIDED' })]);
    const items = await eventually(() => notifications(orderId), { accept: (all) => countOf(all, 'payment.voided') === 1, what: 'refund notified' });

    // The order stays cancelled; nothing happened twice.
    expect((await order(orderId)).status).toBe('CANCELLED');
    expect(countOf(items, Topics.OrderCancelled)).toBe(1);
    expect(countOf(items, Topics.OrderConfirmed)).toBe(0);
    expect(recorder.messages.filter((m) => m.topic === 'payment.void-requested' && m.key?.toString() === orderId)).toHaveLength(1);
    expect(recorder.messages.filter((m) => m.topic === 'payment.voided' && m.key?.toString() === orderId)).toHaveLength(1);
  });
});
