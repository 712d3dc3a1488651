import { createEvent, deadLetterTopic, EventEnvelope, EventTypes } from '@lib/events';
import { DurableProducer } from '@lib/kafka';
import { KafkaEventsTransport } from '@lib/messaging';
import { eventually, TopicRecorder } from '@lib/testing';
import { INestApplication } from '@nestjs/common';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { AppsUnderTest, startAppsUnderTest } from '../../../test/support/apps-under-test';
import { notificationService } from '../src/notification.definition';
import { NotificationModule } from '../src/notification.module';

jest.setTimeout(60_000);

interface WebhookCall {
  headers: IncomingHttpHeaders;
  body: Record<string, string>;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1 (random port). `failNext(eventId, n)` makes
 * it answer 500 to the next `n` deliveries of that event.
 */
async function startWebhook(): Promise<{ url: string; calls: WebhookCall[]; failNext: (eventId: string, n: number) => void; close: () => Promise<void> }> {
  const calls: WebhookCall[] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, string>;
      const left = failures.get(body.eventId) ?? 0;
      const status = left > 0 ? 500 : 204;
      if (left > 0) failures.set(body.eventId, left - 1);
      calls.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/orders`,
    calls,
    failNext: (eventId, n) => failures.set(eventId, n),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The notification app booted for real (the same bootstrap as
 * `nest start notification`) against a Kafka broker of its own, a throw-away
 * database, and a webhook receiver of the test's own.
 */
describe('notification app', () => {
  let system: AppsUnderTest;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let producer: DurableProducer;
  let recorder: TopicRecorder;
  let sql: Client;

  beforeAll(async () => {
    webhook = await startWebhook();
    system = await startAppsUnderTest({ broker: 'e2e-notification', port: 29292 }, { notification: { module: NotificationModule, definition: notificationService } }, {
      NOTIFICATION_WEBHOOK_URL: webhook.url,
      NOTIFICATION_WEBHOOK_TIMEOUT_MS: '1000',
      NOTIFICATION_WEBHOOK_RETRIES: '2',
      CONSUMER_MAX_ATTEMPTS: '3',
      CONSUMER_RETRY_BACKOFF_MS: '50',
      CONSUMER_MAX_RETRY_BACKOFF_MS: '200',
      LOG_LEVEL: 'warn',
    });
    producer = new DurableProducer({ brokers: system.brokers, clientId: 'notification-e2e' });
    recorder = await TopicRecorder.start([deadLetterTopic('notification')], system.brokers);
    app = system.app('notification');
    http = system.http('notification');
    sql = new Client({ connectionString: system.databaseUrl('notification') });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([producer?.disconnect(), recorder?.stop(), sql?.end()]);
    await system?.stop();
    await webhook?.close();
  }, 60_000);

  /** The four customer-facing events of one order's life, as order and payment publish them. */
  const journey = (orderId: string = randomUUID(), correlationId = `corr-${randomUUID()}`) => {
    const created = createEvent(
      EventTypes.OrderCreated,
      { orderId, customerId: 'c-1', currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }], totalAmount: 2500 },
      { source: 'order', correlationId },
    );
    const paymentId = randomUUID();
    const failed = createEvent(EventTypes.PaymentFailed, { orderId, paymentId, amount: 2500, currency: 'EUR', reason: 'limit_exceeded' }, { source: 'payment', correlationId, causationId: created.id });
    const cancelled = createEvent(EventTypes.OrderCancelled, { orderId, reason: 'limit_exceeded', totalAmount: 2500, currency: 'EUR' }, { source: 'order', correlationId, causationId: failed.id });
    const confirmed = createEvent(EventTypes.OrderConfirmed, { orderId, paymentId, totalAmount: 2500, currency: 'EUR' }, { source: 'order', correlationId, causationId: created.id });
    return { created, failed, cancelled, confirmed };
  };
  const publish = (...events: EventEnvelope[]) =>
    producer.send(events.map((event) => ({ topic: event.type, key: event.data.orderId, value: JSON.stringify(event) })));
  const rowsOf = async (orderId: string) =>
    (await sql.query('SELECT event_id, event_type, channel, correlation_id FROM notifications WHERE order_id = $1 ORDER BY event_type, channel', [orderId])).rows;
  const handled = async (eventId: string) => (await sql.query('SELECT 1 FROM inbox WHERE event_id = $1', [eventId])).rowCount === 1;
  const webhookCallsFor = (eventId: string) => webhook.calls.filter((c) => c.body.eventId === eventId);

  it('is ready once database, Kafka and consumer group are up', async () => {
    const response = await eventually(() => http.get('/health/ready'), { accept: (r) => r.status === 200, what: 'notification ready' });
    expect(response.body.info).toMatchObject({ database: { status: 'up' }, kafka: { status: 'up' }, consumer: { status: 'up', state: 'joined' } });
  });

  it.each([
    ['order.created', 'Order received'],
    ['order.confirmed', 'Order confirmed'],
    ['order.cancelled', 'Order cancelled'],
    ['payment.failed', 'Payment declined'],
  ] as const)('stores one notification per channel for %s and POSTs it to the webhook once', async (type, subject) => {
    const events = journey();
    const event = Object.values(events).find((e) => e.type === type)!;
    await publish(event);

    const rows = await eventually(() => rowsOf(event.data.orderId), { accept: (r) => r.length === 2, what: 'two notifications' });
    expect(rows).toEqual([
      { event_id: event.id, event_type: type, channel: 'log', correlation_id: event.correlationId },
      { event_id: event.id, event_type: type, channel: 'webhook', correlation_id: event.correlationId },
    ]);
    const [call] = webhookCallsFor(event.id);
    expect(webhookCallsFor(event.id)).toHaveLength(1);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['idempotency-key']).toBe(`${event.id}:webhook`);
    expect(call.body).toMatchObject({ orderId: event.data.orderId, eventId: event.id, eventType: type, correlationId: event.correlationId, subject });
    expect(call.body.body).toContain(event.data.orderId);
  });

  it('notifies once per channel when the same event arrives three times', async () => {
    const { created } = journey();
    const marker = journey().created; // published after the duplicates, on any partition
    await publish(created, created, created, marker);

    const transport = app.get(KafkaEventsTransport);
    const before = transport.stats().counts[EventTypes.OrderCreated]?.duplicate ?? 0;
    await eventually(() => transport.stats().counts[EventTypes.OrderCreated]?.duplicate ?? 0, { accept: (n) => n >= before + 2, what: 'two duplicates counted' });
    await eventually(() => handled(marker.id), { what: 'marker handled' });

    expect(await rowsOf(created.data.orderId)).toHaveLength(2);
    expect(webhookCallsFor(created.id)).toHaveLength(1);
  });

  it('keeps one notification per channel for a whole journey and lists them by order, oldest first', async () => {
    const { created, failed, cancelled } = journey();
    // One topic per event type: only events of one type share a partition, so a journey's events are
    // handled in causal order only when they happen one after the other — as they do in the saga.
    for (const event of [created, failed, cancelled]) {
      await publish(event);
      await eventually(() => handled(event.id), { what: `${event.type} handled` });
    }
    expect(await rowsOf(created.data.orderId)).toHaveLength(6);

    const response = await http.get('/notifications').query({ orderId: created.data.orderId }).expect(200);
    expect(response.body.items).toHaveLength(6);
    expect(response.body.items.map((n: { eventType: string }) => n.eventType)).toEqual([
      'order.created', 'order.created', 'payment.failed', 'payment.failed', 'order.cancelled', 'order.cancelled',
    ]);
    expect(response.body.items[0]).toMatchObject({ orderId: created.data.orderId, eventId: created.id, correlationId: created.correlationId, subject: 'Order received' });
    expect(new Set(response.body.items.map((n: { channel: string }) => n.channel))).toEqual(new Set(['log', 'webhook']));

    expect((await http.get('/notifications').query({ orderId: randomUUID() }).expect(200)).body.items).toEqual([]);
    const bad = await http.get('/notifications').query({ orderId: 'nope' }).expect(400);
    expect(bad.body.message.join(' ')).toContain('orderId');
    expect(JSON.stringify(bad.body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });

  it('retries a failing webhook until it accepts, still keeping one notification per channel', async () => {
    const { confirmed } = journey();
    // 3 tries per handler attempt (1 + NOTIFICATION_WEBHOOK_RETRIES): the first attempt fails, the second delivers.
    webhook.failNext(confirmed.id, 4);
    await publish(confirmed);

    await eventually(() => webhookCallsFor(confirmed.id).some((c) => c.status === 204), { what: 'webhook accepted' });
    await eventually(() => handled(confirmed.id), { what: 'event handled' });
    expect(webhookCallsFor(confirmed.id).map((c) => c.status)).toEqual([500, 500, 500, 500, 204]);
    expect(await rowsOf(confirmed.data.orderId)).toHaveLength(2);
  });

  it('dead-letters an event whose webhook never accepts after its attempts, keeps no notification of it, and keeps consuming', async () => {
    const { cancelled } = journey();
    const next = journey().created;
    webhook.failNext(cancelled.id, 1000);
    await publish(cancelled);

    const [letter] = await recorder.waitFor(1, (m) => m.key?.toString() === cancelled.data.orderId);
    expect(letter.headers).toMatchObject({ 'dlq-original-topic': EventTypes.OrderCancelled, 'dlq-error-kind': 'handler_error', 'dlq-attempts': '3' });
    expect(letter.headers['dlq-error-message']).toContain('webhook answered 500');
    // 3 attempts x (1 try + 2 retries); the log channel's row rolled back with the failed webhook's.
    expect(webhookCallsFor(cancelled.id)).toHaveLength(9);
    expect(await rowsOf(cancelled.data.orderId)).toEqual([]);

    await publish(next);
    await eventually(() => rowsOf(next.data.orderId), { accept: (r) => r.length === 2, what: 'next event notified' });
  });
});
