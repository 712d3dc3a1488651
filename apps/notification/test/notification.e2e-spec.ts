import { deadLetterTopic, EventEnvelope, EventTypes } from '@lib/events';
import { KafkaEventsTransport } from '@lib/messaging';
import {
  EventProducer,
  eventually,
  HttpClient,
  InProcessApp,
  orderCancelled,
  orderConfirmed,
  orderCreated,
  paymentFailed,
  privateBroker,
  startSystem,
  System,
  TopicRecorder,
  transactionsOpenIn,
} from '@lib/testing';
import { INestApplication } from '@nestjs/common';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { replayDeadLetters } from '@lib/dead-letters';
import { notificationService } from '../src/notification.definition';
import { NotificationModule } from '../src/notification.module';

jest.setTimeout(60_000);

interface WebhookCall {
  headers: IncomingHttpHeaders;
  body: Record<string, string>;
  /** Set once answered. */
  status?: number;
  /** What `onCall` returned for this call (e.g. what the app's database looked like while it was made). */
  seen?: unknown;
  /** Receiver clock, for ordering calls against each other (never compared with a threshold). */
  receivedAt: number;
  answeredAt?: number;
}

interface Webhook {
  url: string;
  calls: WebhookCall[];
  /** Answer 500 to the next `n` deliveries of the event. */
  failNext: (eventId: string, n: number) => void;
  /** Take `ms` before answering the next delivery of the event. */
  delayNext: (eventId: string, ms: number) => void;
  /** Runs on every call before it is answered; its result is kept on the call. */
  onCall: (probe: (() => Promise<unknown>) | null) => void;
  close: () => Promise<void>;
}

/** A webhook receiver on 127.0.0.1 (random port). */
async function startWebhook(): Promise<Webhook> {
  const calls: WebhookCall[] = [];
  const failures = new Map<string, number>();
  const delays = new Map<string, number>();
  let probe: (() => Promise<unknown>) | null = null;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, string>;
      const call: WebhookCall = { headers: req.headers, body, receivedAt: Date.now() };
      calls.push(call);
      const left = failures.get(body.eventId) ?? 0;
      if (left > 0) failures.set(body.eventId, left - 1);
      const delay = delays.get(body.eventId) ?? 0;
      delays.delete(body.eventId);
      void (async () => {
        if (probe) call.seen = await probe();
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        call.status = left > 0 ? 500 : 204;
        call.answeredAt = Date.now();
        res.writeHead(call.status).end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/orders`,
    calls,
    failNext: (eventId, n) => failures.set(eventId, n),
    delayNext: (eventId, ms) => delays.set(eventId, ms),
    onCall: (fn) => (probe = fn),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The notification app booted for real (the same bootstrap as
 * `nest start notification`) against a Kafka broker of its own, a throw-away
 * database, and a webhook receiver of the test's own.
 */
describe('notification app', () => {
  let system: System<InProcessApp>;
  let app: INestApplication;
  let http: HttpClient;
  let webhook: Webhook;
  let producer: EventProducer;
  let recorder: TopicRecorder;
  let sql: Pool;

  beforeAll(async () => {
    webhook = await startWebhook();
    system = await startSystem({
      name: 'e2e-notification',
      kafka: privateBroker({ port: 29292 }),
      inProcess: { notification: { module: NotificationModule, definition: notificationService } },
      env: {
        NOTIFICATION_WEBHOOK_URL: webhook.url,
        // Longer than the slow receiver below takes: that test is about a slow webhook, not a failing one.
        NOTIFICATION_WEBHOOK_TIMEOUT_MS: '15000',
        NOTIFICATION_WEBHOOK_RETRIES: '2',
        CONSUMER_MAX_ATTEMPTS: '3',
        NOTIFICATION_DELIVERY_MAX_ATTEMPTS: '3',
        NOTIFICATION_DELIVERY_RETRY_BACKOFF_MS: '50',
        CONSUMER_RETRY_BACKOFF_MS: '50',
        CONSUMER_MAX_RETRY_BACKOFF_MS: '200',
        LOG_LEVEL: 'warn',
      },
    });
    // Events without headers, as the consumer must also take them.
    producer = system.producer({ headers: false });
    recorder = await system.record([deadLetterTopic('notification')]);
    app = system.instance('notification').nest;
    http = system.http('notification');
    sql = system.sql('notification');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
    await webhook?.close();
  }, 60_000);

  /** The four customer-facing events of one order's life, as order and payment publish them. */
  const journey = () => {
    const created = orderCreated();
    const failed = paymentFailed({ reason: 'limit_exceeded' }, { causedBy: created });
    const cancelled = orderCancelled({ reason: 'limit_exceeded' }, { causedBy: failed });
    const confirmed = orderConfirmed({ paymentId: failed.data.paymentId }, { causedBy: created });
    return { created, failed, cancelled, confirmed };
  };
  const rowsOf = async (orderId: string) =>
    (await sql.query('SELECT event_id, event_type, channel, correlation_id FROM notifications WHERE order_id = $1 ORDER BY event_type, channel', [orderId]))
      .rows;
  const handled = async (eventId: string) => (await sql.query('SELECT 1 FROM inbox WHERE event_id = $1', [eventId])).rowCount === 1;
  const webhookCallsFor = (eventId: string) => webhook.calls.filter((c) => c.body.eventId === eventId);
  /** Publishes one event as the relays do; resolves with its partition. */
  const publishOne = async (event: EventEnvelope) => (await producer.publish(event))[0].partition;
  /** How many of an event's notifications have been delivered (answered by their channel). */
  const deliveredOf = async (eventId: string) =>
    Number((await sql.query(`SELECT count(*) AS n FROM notifications WHERE event_id = $1 AND delivered_at IS NOT NULL`, [eventId])).rows[0].n);

  it('is healthy once database, Kafka and consumer group are up', async () => {
    const response = await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, what: 'notification healthy' });
    await http.get('/health/ready').expect(200);
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
    await producer.publish(event);

    const rows = await eventually(() => rowsOf(event.data.orderId), { accept: (r) => r.length === 2, what: 'two notifications' });
    expect(rows).toEqual([
      { event_id: event.id, event_type: type, channel: 'log', correlation_id: event.correlationId },
      { event_id: event.id, event_type: type, channel: 'webhook', correlation_id: event.correlationId },
    ]);
    // Delivered after the rows committed, from the rows.
    const [call] = await eventually(() => webhookCallsFor(event.id), { accept: (calls) => calls.some((c) => c.status === 204), what: 'webhook called' });
    await eventually(() => deliveredOf(event.id), { accept: (n) => n === 2, what: 'both notifications delivered' });
    expect(webhookCallsFor(event.id)).toHaveLength(1);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['idempotency-key']).toBe(`${event.id}:webhook`);
    expect(call.body).toMatchObject({ orderId: event.data.orderId, eventId: event.id, eventType: type, correlationId: event.correlationId, subject });
    expect(call.body.body).toContain(event.data.orderId);
  });

  it('notifies once per channel when the same event arrives three times', async () => {
    const { created } = journey();
    const marker = journey().created; // published after the duplicates, on any partition
    await producer.publish(created, created, created, marker);

    const transport = app.get(KafkaEventsTransport);
    const before = transport.stats().counts[EventTypes.OrderCreated]?.duplicate ?? 0;
    await eventually(() => transport.stats().counts[EventTypes.OrderCreated]?.duplicate ?? 0, {
      accept: (n) => n >= before + 2,
      what: 'two duplicates counted',
    });
    await eventually(() => handled(marker.id), { what: 'marker handled' });
    await eventually(() => deliveredOf(created.id), { accept: (n) => n === 2, what: 'both notifications delivered' });

    expect(await rowsOf(created.data.orderId)).toHaveLength(2);
    expect(webhookCallsFor(created.id)).toHaveLength(1);
  });

  it('keeps one notification per channel for a whole journey and lists them by order, oldest first', async () => {
    const { created, failed, cancelled } = journey();
    // One topic per event type: only events of one type share a partition, so a journey's events are
    // handled in causal order only when they happen one after the other — as they do in the saga.
    for (const event of [created, failed, cancelled]) {
      await producer.publish(event);
      await eventually(() => handled(event.id), { what: `${event.type} handled` });
    }
    expect(await rowsOf(created.data.orderId)).toHaveLength(6);

    const response = await http.get('/notifications').query({ orderId: created.data.orderId }).expect(200);
    expect(response.body.items).toHaveLength(6);
    expect(response.body.items.map((n: { eventType: string }) => n.eventType)).toEqual([
      'order.created',
      'order.created',
      'payment.failed',
      'payment.failed',
      'order.cancelled',
      'order.cancelled',
    ]);
    expect(response.body.items[0]).toMatchObject({
      orderId: created.data.orderId,
      eventId: created.id,
      correlationId: created.correlationId,
      subject: 'Order received',
    });
    expect(new Set(response.body.items.map((n: { channel: string }) => n.channel))).toEqual(new Set(['log', 'webhook']));

    expect((await http.get('/notifications').query({ orderId: randomUUID() }).expect(200)).body.items).toEqual([]);
    const bad = await http.get('/notifications').query({ orderId: 'nope' }).expect(400);
    expect(bad.body.message.join(' ')).toContain('orderId');
    expect(JSON.stringify(bad.body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });

  it('retries a failing webhook until it accepts, still keeping one notification per channel', async () => {
    const { confirmed } = journey();
    // 3 tries per delivery attempt (1 + NOTIFICATION_WEBHOOK_RETRIES): the first attempt fails, the second delivers.
    webhook.failNext(confirmed.id, 4);
    await producer.publish(confirmed);

    await eventually(() => webhookCallsFor(confirmed.id).some((c) => c.status === 204), { what: 'webhook accepted' });
    await eventually(() => handled(confirmed.id), { what: 'event handled' });
    expect(webhookCallsFor(confirmed.id).map((c) => c.status)).toEqual([500, 500, 500, 500, 204]);
    expect(await rowsOf(confirmed.data.orderId)).toHaveLength(2);
  });

  it('dead-letters a notification whose webhook never accepts after its attempts, keeps no webhook notification of it, keeps consuming, and delivers it when the dead letter is replayed', async () => {
    const { cancelled } = journey();
    const next = journey().created;
    webhook.failNext(cancelled.id, 1000);
    await producer.publish(cancelled);

    const [letter] = await recorder.waitFor(1, (m) => m.key?.toString() === cancelled.data.orderId);
    expect(letter.headers).toMatchObject({
      'dlq-original-topic': EventTypes.OrderCancelled,
      'dlq-error-kind': 'delivery_failed',
      'dlq-attempts': '3',
      'dlq-consumer-group': 'notification',
      'event-id': cancelled.id,
    });
    expect(letter.headers['dlq-original-offset']).toMatch(/^\d+$/);
    expect(letter.headers['dlq-error-message']).toContain('webhook answered 500');
    // The URL's path may be a token (Slack-style): the header names the receiver by scheme and host only.
    expect(letter.headers['dlq-error-message']).toContain(new URL(webhook.url).origin);
    expect(letter.headers['dlq-error-message']).not.toContain('/hooks/orders');
    expect(JSON.parse(letter.value!.toString())).toEqual(cancelled);
    // 3 delivery attempts x (1 try + 2 retries). Channels are delivered independently: the log channel's
    // notification was delivered and stays; the webhook's is gone with the event's inbox row, so the
    // dead letter is its only trace and a replay delivers it again.
    expect(webhookCallsFor(cancelled.id)).toHaveLength(9);
    await eventually(() => rowsOf(cancelled.data.orderId), { accept: (rows) => rows.length === 1, what: 'webhook notification removed' });
    expect((await rowsOf(cancelled.data.orderId)).map((r) => r.channel)).toEqual(['log']);
    expect(await handled(cancelled.id)).toBe(false);

    await producer.publish(next);
    await eventually(() => rowsOf(next.data.orderId), { accept: (r) => r.length === 2, what: 'next event notified' });

    webhook.failNext(cancelled.id, 0); // the receiver is fixed
    const { replayed } = await replayDeadLetters({ brokers: system.brokers, clientId: 'notification-e2e-replay' }, 'notification', { id: cancelled.id });
    expect(replayed.map((r) => r.eventId)).toEqual([cancelled.id]);
    await eventually(() => webhookCallsFor(cancelled.id).filter((c) => c.status === 204), {
      accept: (calls) => calls.length === 1,
      what: 'replayed notification delivered',
    });
    await eventually(() => deliveredOf(cancelled.id), { accept: (n) => n === 2, what: 'both notifications delivered after the replay' });
  });

  it('calls the webhook with no database transaction of the app open (Done-when 4 of issue 9)', async () => {
    // A webhook may take seconds; a transaction open meanwhile would hold a pooled connection (and its locks) that long.
    webhook.onCall(() => transactionsOpenIn(sql));
    try {
      // One event at a time: the only work the app has is this event's.
      for (const event of [journey().created, journey().confirmed]) {
        await producer.publish(event);
        await eventually(() => webhookCallsFor(event.id), { accept: (calls) => calls.some((c) => c.status === 204), what: `webhook call for ${event.id}` });
        expect(webhookCallsFor(event.id).map((c) => c.seen)).toEqual([0]);
      }
    } finally {
      webhook.onCall(null);
    }
  });

  it('delivers the notifications of other orders while one webhook call takes 10 s (Done-when 4 of issue 9)', async () => {
    const slow = journey().created;
    webhook.delayNext(slow.id, 10_000);
    const slowPartition = await publishOne(slow);
    await eventually(() => webhookCallsFor(slow.id), { accept: (calls) => calls.length === 1, what: 'the slow webhook call started' });

    // Orders of every partition, at least two of them on the slow order's own.
    const others: EventEnvelope[] = [];
    let onSlowPartition = 0;
    for (let i = 0; i < 60 && (onSlowPartition < 2 || others.length < 6); i++) {
      const other = journey().created;
      if ((await publishOne(other)) === slowPartition) onSlowPartition++;
      others.push(other);
    }
    expect(onSlowPartition).toBeGreaterThanOrEqual(2);

    const delivered = await eventually(() => others.map((o) => webhookCallsFor(o.id).find((c) => c.status === 204)), {
      accept: (calls) => calls.every(Boolean),
      what: 'the other orders notified',
    });
    const [slowCall] = await eventually(() => webhookCallsFor(slow.id), { accept: (calls) => calls[0]?.status === 204, what: 'the slow call answered' });
    // Every other order was notified while the slow call was still being answered.
    for (const call of delivered) expect(call!.answeredAt!).toBeLessThan(slowCall.answeredAt!);
  });
});
