import { deadLetterTopic, EventHeaders, Topics } from '@lib/events';
import { KafkaEventsTransport } from '@lib/messaging';
import {
  EventProducer,
  eventually,
  HttpClient,
  InProcessApp,
  orderCreated,
  privateBroker,
  startSystem,
  System,
  TopicRecorder,
  transactionsOpenIn,
} from '@lib/testing';
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { paymentService } from '../src/payment.definition';
import { PaymentModule } from '../src/payment.module';
import { PAYMENT_GATEWAY } from '../src/payments/domain/payment';
import { ResilientPaymentGateway } from '../src/payments/infrastructure/resilient-payment.gateway';
import { SimulatedPaymentGateway } from '../src/payments/infrastructure/simulated-payment.gateway';

jest.setTimeout(90_000);

/**
 * The payment app booted for real (the same bootstrap as `nest start payment`)
 * against a Kafka broker of its own and a throw-away database. Orders are
 * `order.created` events published the way the order app's relay does.
 */
describe('payment app', () => {
  let system: System<InProcessApp>;
  let app: INestApplication;
  let http: HttpClient;
  let recorder: TopicRecorder;
  let producer: EventProducer;
  let sql: Pool;
  const LIMIT = 100_000;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-payment',
      kafka: privateBroker({ port: 29192 }),
      inProcess: { payment: { module: PaymentModule, definition: paymentService } },
      env: {
        PAYMENT_MAX_AMOUNT: String(LIMIT),
        PAYMENT_SIMULATOR_CONTROL: 'true',
        PAYMENT_GATEWAY_RETRIES: '1',
        PAYMENT_BREAKER_RESET_MS: '1000',
        CONSUMER_MAX_ATTEMPTS: '3',
        CONSUMER_RETRY_BACKOFF_MS: '50',
        CONSUMER_MAX_RETRY_BACKOFF_MS: '200',
        OUTBOX_POLL_INTERVAL_MS: '100',
        LOG_LEVEL: 'warn',
      },
    });
    recorder = await system.record([Topics.PaymentCompleted, Topics.PaymentFailed, deadLetterTopic('payment')]);
    // Orders without headers, as the consumer must also take them.
    producer = system.producer({ headers: false });
    app = system.instance('payment').nest;
    http = system.http('payment');
    sql = system.sql('payment');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const paymentsOf = async (orderId: string) => (await sql.query('SELECT * FROM payments WHERE order_id = $1', [orderId])).rows;
  const handled = async (eventId: string) => (await sql.query('SELECT 1 FROM inbox WHERE event_id = $1', [eventId])).rowCount === 1;
  const outboxDrained = () =>
    eventually(async () => (await sql.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, { accept: (n) => n === 0, what: 'outbox empty' });
  const recordedFor = (orderId: string, topic?: string) =>
    recorder.messages.filter((m) => m.key?.toString() === orderId && (topic === undefined || m.topic === topic));

  it('is healthy once database, Kafka, consumer group and outbox are up', async () => {
    const response = await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, what: 'payment healthy' });
    await http.get('/health/ready').expect(200);
    expect(response.body.info).toMatchObject({
      database: { status: 'up' },
      kafka: { status: 'up' },
      consumer: { status: 'up', state: 'joined' },
      outbox: { status: 'up' },
    });
    await http.get('/health/live').expect(200);
  });

  it('authorises an order within the limit and publishes payment.completed keyed by the order id, caused by the order.created', async () => {
    const order = orderCreated({ totalAmount: LIMIT }); // exactly the limit: not above it
    await producer.publish(order);

    const [message] = await recorder.waitFor(1, (m) => m.key?.toString() === order.data.orderId);
    const event = JSON.parse(message.value!.toString());
    expect(message.topic).toBe(Topics.PaymentCompleted);
    expect(event).toMatchObject({
      type: 'payment.completed',
      version: 1,
      source: 'payment',
      correlationId: order.correlationId,
      causationId: order.id,
      data: { orderId: order.data.orderId, amount: LIMIT, currency: 'EUR' },
    });
    expect(message.headers).toMatchObject({ [EventHeaders.EventId]: event.id, [EventHeaders.CorrelationId]: order.correlationId });

    const payments = await paymentsOf(order.data.orderId);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ id: event.data.paymentId, status: 'AUTHORIZED', reason: null, correlation_id: order.correlationId });
  });

  it('declines an order above PAYMENT_MAX_AMOUNT with limit_exceeded and publishes payment.failed', async () => {
    const order = orderCreated({ totalAmount: LIMIT + 1 });
    await producer.publish(order);

    const [message] = await recorder.waitFor(1, (m) => m.key?.toString() === order.data.orderId);
    expect(message.topic).toBe(Topics.PaymentFailed);
    expect(JSON.parse(message.value!.toString())).toMatchObject({
      type: 'payment.failed',
      correlationId: order.correlationId,
      causationId: order.id,
      data: { orderId: order.data.orderId, amount: LIMIT + 1, reason: 'limit_exceeded' },
    });
    expect(await paymentsOf(order.data.orderId)).toMatchObject([{ status: 'DECLINED', reason: 'limit_exceeded' }]);
  });

  it('makes one payment and asks the gateway once when the same order.created is delivered five times', async () => {
    const order = orderCreated({ totalAmount: 4200 });
    const next = orderCreated({ totalAmount: 4300 });
    // No inbox read before phase 1 (duplicatePrecheck off): the handler's own look at the payments keeps the copies from the gateway.
    const asked: string[] = [];
    const simulator = app.get(SimulatedPaymentGateway);
    const original = simulator.authorize.bind(simulator);
    const calls = jest.spyOn(simulator, 'authorize').mockImplementation((request) => {
      asked.push(request.orderId);
      return original(request);
    });
    try {
      await producer.publish(order, order, order, order, order, next);
      await recorder.waitFor(1, (m) => m.key?.toString() === next.data.orderId);
      await eventually(() => app.get(KafkaEventsTransport).stats().counts[Topics.OrderCreated]?.duplicate ?? 0, {
        accept: (n) => n >= 4,
        what: 'four duplicates counted',
      });
    } finally {
      calls.mockRestore();
    }
    expect(asked.filter((orderId) => orderId === order.data.orderId)).toHaveLength(1);
    expect(await paymentsOf(order.data.orderId)).toHaveLength(1);
    // The two keys' results may leave in different relay batches: wait for this order's own, then for an empty
    // outbox, so a second result, if there were one, would have been published too.
    await recorder.waitFor(1, (m) => m.key?.toString() === order.data.orderId);
    await outboxDrained();
    expect(recordedFor(order.data.orderId)).toHaveLength(1);
  });

  it('makes one payment when a second order.created (another event id) arrives for an order that has one', async () => {
    const first = orderCreated({ totalAmount: 1500 });
    await producer.publish(first);
    await recorder.waitFor(1, (m) => m.key?.toString() === first.data.orderId);

    const second = orderCreated({ totalAmount: 1500, orderId: first.data.orderId }, { correlationId: first.correlationId });
    expect(second.id).not.toBe(first.id);
    await producer.publish(second);
    await eventually(() => handled(second.id), { what: 'second order.created handled' });
    await outboxDrained();

    expect(await paymentsOf(first.data.orderId)).toHaveLength(1);
    expect(recordedFor(first.data.orderId)).toHaveLength(1);
    expect(recorder.messages.filter((m) => m.topic === deadLetterTopic('payment'))).toHaveLength(0);
  });

  it('dead-letters an order.created whose total disagrees with its lines at once, without a payment, and keeps consuming', async () => {
    const order = orderCreated({ totalAmount: 2500 });
    const tampered = { ...order, data: { ...order.data, totalAmount: 1 } }; // would charge the wrong amount
    const next = orderCreated({ totalAmount: 2600 });
    await producer.send([{ topic: Topics.OrderCreated, key: order.data.orderId, value: JSON.stringify(tampered) }]);
    await producer.publish(next);

    const [letter] = await recorder.waitFor(1, (m) => m.topic === deadLetterTopic('payment') && m.key?.toString() === order.data.orderId);
    expect(letter.headers).toMatchObject({ 'dlq-error-kind': 'invalid_data', 'dlq-attempts': '0', 'dlq-original-topic': Topics.OrderCreated });
    expect(letter.headers['dlq-error-message']).toContain('totalAmount');
    expect(await paymentsOf(order.data.orderId)).toHaveLength(0);
    await recorder.waitFor(1, (m) => m.topic === Topics.PaymentCompleted && m.key?.toString() === next.data.orderId);
  });

  it('lists the payments of an order, and answers 400 to a malformed order id', async () => {
    const order = orderCreated({ totalAmount: LIMIT * 2 });
    await producer.publish(order);
    await recorder.waitFor(1, (m) => m.key?.toString() === order.data.orderId);

    const response = await http.get('/payments').query({ orderId: order.data.orderId }).expect(200);
    expect(response.body.items).toEqual([
      expect.objectContaining({
        orderId: order.data.orderId,
        status: 'DECLINED',
        reason: 'limit_exceeded',
        amount: LIMIT * 2,
        currency: 'EUR',
        correlationId: order.correlationId,
      }),
    ]);
    expect((await http.get('/payments').query({ orderId: randomUUID() }).expect(200)).body.items).toEqual([]);

    const bad = await http.get('/payments').query({ orderId: 'not-a-uuid' }).expect(400);
    expect(bad.body.message.join(' ')).toContain('orderId');
    expect(JSON.stringify(bad.body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
    await http.get('/payments').expect(400);
  });

  it('calls the payment gateway with no database transaction of the app open (Done-when 4 of issue 9)', async () => {
    // The gateway may take seconds; a transaction open meanwhile would hold a pooled connection (and its locks) that long.
    const simulator = app.get(SimulatedPaymentGateway);
    const openTransactionsAtCall: number[] = [];
    const original = simulator.authorize.bind(simulator);
    const calls = jest.spyOn(simulator, 'authorize').mockImplementation(async (request) => {
      openTransactionsAtCall.push(await transactionsOpenIn(sql));
      return original(request);
    });
    try {
      // One order at a time: the only work the app has is this order's.
      for (const total of [1200, LIMIT + 1, 1300]) {
        const order = orderCreated({ totalAmount: total });
        await producer.publish(order);
        await eventually(() => handled(order.id), { what: `order.created ${order.id} handled` });
      }
    } finally {
      calls.mockRestore();
    }
    expect(openTransactionsAtCall).toEqual([0, 0, 0]);
  });

  it('waits out a gateway outage behind an open breaker — no payment.failed, nothing dead-lettered — and pays every waiting order once it recovers', async () => {
    const breaker = app.get<ResilientPaymentGateway>(PAYMENT_GATEWAY);
    const simulator = app.get(SimulatedPaymentGateway);
    const calls = jest.spyOn(simulator, 'authorize');
    const transport = app.get(KafkaEventsTransport);
    const retriedBefore = transport.stats().counts[Topics.OrderCreated]?.retried ?? 0;
    const dlqBefore = recorder.messages.filter((m) => m.topic === deadLetterTopic('payment')).length;

    expect((await http.put('/simulator').send({ failureRate: 1 }).expect(200)).body).toMatchObject({ failureRate: 1 });
    // Enough orders to land on every partition, some of them above the limit.
    const waiting = Array.from({ length: 9 }, (_, i) => orderCreated({ totalAmount: i % 3 === 0 ? LIMIT + 500 : 2000 + i }));
    await producer.publish(...waiting);

    await eventually(() => breaker.state(), { accept: (s) => s === 'open', what: 'breaker open' });
    const unhealthy = await eventually(() => http.get('/health'), { accept: (r) => r.status === 503, what: 'payment unhealthy' });
    expect(unhealthy.body.error.consumer).toMatchObject({ status: 'down', state: 'joined' });
    expect(unhealthy.body.error.consumer.message).toMatch(/waiting for payment gateway/);
    await http.get('/health/ready').expect(200); // the HTTP API still serves: a gateway outage is no reason to leave the load balancer

    // The consumer keeps trying the same messages (half-open trials reach the gateway again) instead of giving up on them.
    const callsWhenOpen = calls.mock.calls.length;
    await eventually(() => calls.mock.calls.length, { accept: (n) => n > callsWhenOpen, what: 'a half-open trial call' });
    await eventually(() => breaker.state(), { accept: (s) => s === 'open', what: 'breaker open again after the failed trial' });

    for (const order of waiting) expect(await paymentsOf(order.data.orderId)).toHaveLength(0);
    expect(waiting.flatMap((o) => recordedFor(o.data.orderId))).toHaveLength(0);
    expect(recorder.messages.filter((m) => m.topic === deadLetterTopic('payment'))).toHaveLength(dlqBefore);
    expect(transport.stats().counts[Topics.OrderCreated]?.retried ?? 0).toBe(retriedBefore); // no attempt was spent

    await http.put('/simulator').send({ failureRate: 0 }).expect(200);
    const outcomes = await recorder.waitFor(waiting.length, (m) => waiting.some((o) => o.data.orderId === m.key?.toString()), 60_000);
    for (const order of waiting) {
      const expected = order.data.totalAmount > LIMIT ? Topics.PaymentFailed : Topics.PaymentCompleted;
      expect(outcomes.filter((m) => m.key?.toString() === order.data.orderId).map((m) => m.topic)).toEqual([expected]);
      expect(await paymentsOf(order.data.orderId)).toHaveLength(1);
    }
    await eventually(() => breaker.state(), { accept: (s) => s === 'closed', what: 'breaker closed' });
    await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, what: 'payment healthy again' });
    calls.mockRestore();
  });
});
