import { deadLetterTopic, EventHeaders, Topics } from '@lib/events';
import {
  EventProducer,
  eventually,
  HttpClient,
  InProcessApp,
  orderRequest,
  paymentCompleted,
  paymentFailed,
  privateBroker,
  startSystem,
  System,
  TopicRecorder,
} from '@lib/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { orderService } from '../src/order.definition';
import { OrderModule } from '../src/order.module';

/**
 * The order app booted for real (the same bootstrap as `nest start order`)
 * against a Kafka broker of its own and a throw-away database.
 */
describe('order app', () => {
  let system: System<InProcessApp>;
  let http: HttpClient;
  let recorder: TopicRecorder;
  let producer: EventProducer;
  let sql: Pool;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order',
      kafka: privateBroker({ port: 29092 }),
      inProcess: { order: { module: OrderModule, definition: orderService } },
      env: { CONSUMER_MAX_ATTEMPTS: '3', CONSUMER_RETRY_BACKOFF_MS: '50', LOG_LEVEL: 'warn' },
    });
    recorder = await system.record([Topics.OrderCreated, Topics.OrderConfirmed, Topics.OrderCancelled, deadLetterTopic('order')]);
    // Payment events without headers, as the consumer must also take them.
    producer = system.producer({ headers: false });
    http = system.http('order');
    sql = system.sql('order');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const validOrder = () => orderRequest({ quantity: 2, unitPrice: 1250 });
  const orderCount = async () => Number((await sql.query('SELECT count(*) FROM orders')).rows[0].count);
  const placeOrder = async (body = validOrder(), headers: Record<string, string> = {}) => {
    const response = await http.post('/orders').set(headers).send(body).expect(201);
    return response.body as { id: string; correlationId: string; totalAmount: number };
  };

  it('is healthy once database, Kafka, consumer group and outbox are up', async () => {
    const response = await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, what: 'order healthy' });
    await http.get('/health/ready').expect(200);
    expect(response.body.info).toMatchObject({
      database: { status: 'up' },
      kafka: { status: 'up' },
      consumer: { status: 'up', state: 'joined' },
      outbox: { status: 'up' },
    });
    await http.get('/health/live').expect(200);
  });

  it('creates a PENDING order and publishes order.created keyed by the order id, with the correlation id given', async () => {
    const response = await http.post('/orders').set('X-Correlation-Id', 'corr-e2e-1').send(validOrder()).expect(201);
    expect(response.headers['x-correlation-id']).toBe('corr-e2e-1');
    expect(response.body).toMatchObject({ status: 'PENDING', totalAmount: 2500, currency: 'EUR' });
    expect(new Date(response.body.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await http.get(`/orders/${response.body.id}`)).body).toEqual(response.body);

    const [message] = await recorder.waitFor(1, (m) => m.key?.toString() === response.body.id);
    const event = JSON.parse(message.value!.toString());
    expect(message.topic).toBe(Topics.OrderCreated);
    expect(event).toMatchObject({ type: 'order.created', version: 1, source: 'order', correlationId: 'corr-e2e-1', causationId: null });
    expect(event.data).toMatchObject({ orderId: response.body.id, totalAmount: 2500, items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }] });
    expect(message.headers).toMatchObject({
      [EventHeaders.EventId]: event.id,
      [EventHeaders.EventType]: 'order.created',
      [EventHeaders.CorrelationId]: 'corr-e2e-1',
    });
  });

  it('returns the same order for a repeated Idempotency-Key and 409 for the same key with another body', async () => {
    const key = randomUUID();
    const body = validOrder();
    const first = await http.post('/orders').set('Idempotency-Key', key).send(body).expect(201);
    const again = await http.post('/orders').set('Idempotency-Key', key).send(body).expect(200);
    expect(again.body.id).toBe(first.body.id);
    const conflict = await http
      .post('/orders')
      .set('Idempotency-Key', key)
      .send({ ...body, currency: 'USD' })
      .expect(409);
    expect(conflict.body.message).toContain(key);
    expect(Number((await sql.query('SELECT count(*) FROM orders WHERE idempotency_key = $1', [key])).rows[0].count)).toBe(1);
  });

  it.each([
    ['an unknown field', { ...validOrder(), discount: 10 }, 'discount'],
    ['a negative quantity', { ...validOrder(), items: [{ sku: 'A', quantity: -1, unitPrice: 1 }] }, 'items.0.quantity'],
    ['no items', { ...validOrder(), items: [] }, 'items'],
    ['a currency that is not ISO 4217', { ...validOrder(), currency: 'EURO' }, 'currency'],
    ['a string amount', { ...validOrder(), items: [{ sku: 'A', quantity: 1, unitPrice: '5' }] }, 'items.0.unitPrice'],
  ])('answers 400 naming the problem for %s, and writes nothing', async (_what, body, field) => {
    const before = await orderCount();
    const response = await http.post('/orders').send(body).expect(400);
    expect(response.body.message.join(' ')).toContain(field);
    expect(JSON.stringify(response.body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
    expect(await orderCount()).toBe(before);
  });

  it.each([
    ['a total beyond the safe integer range', { ...validOrder(), items: [{ sku: 'A', quantity: 1000, unitPrice: Number.MAX_SAFE_INTEGER }] }, 'items'],
    ['a NUL character in customerId', { ...validOrder(), customerId: 'c-\u0000-1' }, 'customerId'],
    ['a NUL character in a sku', { ...validOrder(), items: [{ sku: 'A\u0000B', quantity: 1, unitPrice: 1 }] }, 'items.0.sku'],
    ['an order line that is an empty array', { ...validOrder(), items: [[]] }, 'items'],
  ])('answers 400 naming the problem for %s (once a 500), and writes nothing', async (_what, body, field) => {
    const before = await orderCount();
    const response = await http.post('/orders').send(body).expect(400);
    expect(response.body.message.join(' ')).toContain(field);
    expect(await orderCount()).toBe(before);
  });

  it.each([
    ['__proto__', '{"customerId":"c-1","currency":"EUR","items":[{"sku":"A","quantity":1,"unitPrice":1}],"__proto__":{"isAdmin":true}}'],
    ['constructor', '{"customerId":"c-1","currency":"EUR","items":[{"sku":"A","quantity":1,"unitPrice":1}],"constructor":{"prototype":{}}}'],
    ['a nested __proto__', '{"customerId":"c-1","currency":"EUR","items":[{"sku":"A","quantity":1,"unitPrice":1,"__proto__":{"x":1}}]}'],
  ])('treats a %s key as an unknown field: 400 naming it, nothing written', async (key, raw) => {
    const before = await orderCount();
    const response = await http.post('/orders').set('content-type', 'application/json').send(raw).expect(400);
    expect(response.body.message.join(' ')).toContain(key.replace('a nested ', ''));
    expect(await orderCount()).toBe(before);
  });

  it.each([
    ['4 KB long', randomBytes(2048).toString('hex')],
    ['256 characters long', 'k'.repeat(256)],
    ['holding a control character (tab)', 'key\tx'],
    ['holding a non-ASCII character', 'schlüssel'],
  ])('answers 400 to an Idempotency-Key %s (1..255 printable characters), and writes nothing', async (_what, key) => {
    const before = await orderCount();
    const response = await http.post('/orders').set('Idempotency-Key', key).send(validOrder()).expect(400);
    expect(String(response.body.message)).toContain('Idempotency-Key');
    expect(await orderCount()).toBe(before);
  });

  it('takes an Idempotency-Key of exactly 255 printable characters', async () => {
    await http.post('/orders').set('Idempotency-Key', `${randomUUID()}~`.padEnd(255, 'k')).send(validOrder()).expect(201);
  });

  it('answers 400 to a NUL character in the customerId filter of GET /orders', async () => {
    await http.get('/orders').query({ customerId: 'c\u0000' }).expect(400);
  });

  it('answers 400 to malformed JSON and 413 to a 2 MB body, without a stack trace', async () => {
    const malformed = await http.post('/orders').set('content-type', 'application/json').send('{"customerId": ').expect(400);
    expect(JSON.stringify(malformed.body)).not.toMatch(/at \w+ \(|node_modules/);
    const huge = { ...validOrder(), customerId: 'x'.repeat(2 * 1024 * 1024) };
    const tooLarge = await http.post('/orders').send(huge).expect(413);
    expect(JSON.stringify(tooLarge.body)).not.toMatch(/at \w+ \(|node_modules/);
  });

  it('answers 404 for an unknown order and 400 for a malformed id', async () => {
    await http.get(`/orders/${randomUUID()}`).expect(404);
    await http.get('/orders/not-a-uuid').expect(400);
  });

  it('lists orders by customer and status with a page limit', async () => {
    const body = validOrder();
    await placeOrder(body);
    await placeOrder(body);
    const response = await http.get('/orders').query({ customerId: body.customerId, status: 'PENDING', limit: 1 }).expect(200);
    expect(response.body.items).toHaveLength(1);
    expect(response.body.items[0].customerId).toBe(body.customerId);
    await http.get('/orders').query({ limit: 5000 }).expect(400);
  });

  it('confirms an order on payment.completed and cancels one on payment.failed, publishing the outcome with causality', async () => {
    const paid = await placeOrder();
    const declined = await placeOrder();
    const completed = paymentCompleted({ orderId: paid.id, amount: paid.totalAmount }, { correlationId: paid.correlationId });
    const failed = paymentFailed({ orderId: declined.id, amount: declined.totalAmount, reason: 'limit_exceeded' }, { correlationId: declined.correlationId });
    await producer.publish(completed);
    await producer.publish(failed);

    await eventually(async () => (await http.get(`/orders/${paid.id}`)).body.status, { accept: (s) => s === 'CONFIRMED', what: 'order confirmed' });
    await eventually(async () => (await http.get(`/orders/${declined.id}`)).body.status, { accept: (s) => s === 'CANCELLED', what: 'order cancelled' });

    const [confirmed] = await recorder.waitFor(1, (m) => m.topic === Topics.OrderConfirmed && m.key?.toString() === paid.id);
    expect(JSON.parse(confirmed.value!.toString())).toMatchObject({ causationId: completed.id, correlationId: paid.correlationId });
    const [cancelled] = await recorder.waitFor(1, (m) => m.topic === Topics.OrderCancelled && m.key?.toString() === declined.id);
    expect(JSON.parse(cancelled.value!.toString()).data).toMatchObject({ reason: 'limit_exceeded' });
  });

  it('never moves a settled order back: a later payment.failed leaves a CONFIRMED order as it is', async () => {
    const order = await placeOrder();
    const meta = { correlationId: order.correlationId };
    await producer.publish(paymentCompleted({ orderId: order.id, amount: order.totalAmount }, meta));
    // The two events travel on different topics, so nothing orders them but time: "later" means after the
    // order was confirmed (published back to back, payment.failed was sometimes handled first).
    await eventually(async () => (await http.get(`/orders/${order.id}`)).body.status, { accept: (s) => s === 'CONFIRMED', what: 'order confirmed' });
    const late = paymentFailed({ orderId: order.id, amount: order.totalAmount, reason: 'late' }, meta);
    await producer.publish(late);
    await eventually(async () => (await sql.query('SELECT 1 FROM inbox WHERE event_id = $1', [late.id])).rowCount, { what: 'late event handled' });
    expect((await http.get(`/orders/${order.id}`)).body.status).toBe('CONFIRMED');
  });

  it('serves its OpenAPI document at /docs, describing POST /orders', async () => {
    await http.get('/docs').expect(200);
    const { body } = await http.get('/docs/openapi.json').expect(200);
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(['/orders', '/orders/{id}', '/health/ready']));
    expect(body.components.schemas.PlaceOrderRequest.required).toEqual(expect.arrayContaining(['customerId', 'currency', 'items']));
  });

  it('exposes Prometheus metrics: HTTP traffic, settlements, outbox backlog and consumer lag', async () => {
    const { text } = await http.get('/metrics').expect(200);
    const sample = (name: string) => text.split('\n').filter((line) => line.startsWith(name));
    expect(sample('http_requests_total{').some((l) => l.includes('route="/orders"') && l.includes('status="201"'))).toBe(true);
    expect(sample('order_settlement_latency_seconds_count{').some((l) => l.includes('status="CONFIRMED"') && !l.endsWith(' 0'))).toBe(true);
    expect(sample('outbox_backlog_events{')).toHaveLength(1);
    expect(sample('outbox_published_total{').some((l) => !l.endsWith(' 0'))).toBe(true);
    expect(sample('outbox_publish_latency_seconds_count{').some((l) => !l.endsWith(' 0'))).toBe(true);
    expect(sample('consumer_lag{').length).toBeGreaterThan(0);
    expect(sample('consumer_messages_total{').some((l) => l.includes('topic="payment.completed"') && l.includes('outcome="handled"'))).toBe(true);
  });

  it('dead-letters a payment event for an unknown order after its retries, and keeps consuming', async () => {
    const ghost = randomUUID();
    const event = paymentCompleted({ orderId: ghost, amount: 1 }, { correlationId: 'ghost' });
    await producer.publish(event);
    const [letter] = await recorder.waitFor(1, (m) => m.topic === 'order.dlq' && m.key?.toString() === ghost);
    expect(letter.headers).toMatchObject({ 'dlq-error-kind': 'handler_error', 'dlq-attempts': '3', 'dlq-original-topic': Topics.PaymentCompleted });
    expect(letter.headers['dlq-error-message']).toContain(ghost);

    const after = await placeOrder();
    await producer.publish(paymentCompleted({ orderId: after.id, amount: after.totalAmount }, { correlationId: after.correlationId }));
    await eventually(async () => (await http.get(`/orders/${after.id}`)).body.status, { accept: (s) => s === 'CONFIRMED', what: 'next order confirmed' });
  });
});
