import { AppName, deadLetterTopic, EventEnvelope, EventHeaders, Topics } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import {
  AppProcess,
  eventually,
  givenBrokersFrom,
  paymentCompleted,
  privateBroker,
  sendWithConsoleProducer,
  startSystem,
  System,
  TopicRecorder,
} from '@lib/testing';
import { randomUUID } from 'node:crypto';

jest.setTimeout(120_000);

const LIMIT = 100_000; // PAYMENT_MAX_AMOUNT's default: 1000.00

type OrderView = { id: string; status: string; totalAmount: number; correlationId: string; reason?: string };

/**
 * The whole system as a user runs it: the three apps built with `nest build`
 * and started as processes of their own (`node main.js`, what `nest start`
 * runs), on a private Kafka broker and three throw-away databases
 * (`startSystem`), driven only through HTTP and Kafka — no app code is
 * imported here.
 */
describe('order saga across the three apps', () => {
  let system: System<AppProcess>;
  let recorder: TopicRecorder;
  const sql = (app: AppName) => system.sql(app);

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-saga',
      // SAGA_E2E_KAFKA_BROKERS runs the suite against a given Kafka instead, e.g. the three-node cluster of
      // `npm run infra:up -- --brokers 3` (docs/infrastructure.md): a fresh one, since the suite reads the
      // contract topics with the apps' own groups; it is left running.
      kafka: givenBrokersFrom('SAGA_E2E_KAFKA_BROKERS', privateBroker({ port: 29392 })),
      processes: { order: 1, payment: 1, notification: 1 },
      ports: 3101,
      env: {
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'log',
        CONSUMER_MAX_ATTEMPTS: '3',
        CONSUMER_RETRY_BACKOFF_MS: '100',
        CONSUMER_MAX_RETRY_BACKOFF_MS: '1000',
        OUTBOX_POLL_INTERVAL_MS: '200',
      },
    });
    recorder = await system.record([
      Topics.OrderCreated,
      Topics.OrderConfirmed,
      Topics.OrderCancelled,
      Topics.PaymentCompleted,
      Topics.PaymentFailed,
      deadLetterTopic('order'),
    ]);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
  }, 120_000);

  // ---- driving the system over HTTP -------------------------------------------------------------

  const api = async <T = unknown>(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  /** Places an order of one line worth `total` minor units; above LIMIT means it will be declined. */
  const placeOrder = async (total: number, headers: Record<string, string> = {}): Promise<OrderView> => {
    const body = { customerId: `saga-${randomUUID().slice(0, 8)}`, currency: 'EUR', items: [{ sku: 'SKU-SAGA', quantity: 1, unitPrice: total }] };
    const { status, body: order } = await api<OrderView>(system.instance('order').url, '/orders', { method: 'POST', body: JSON.stringify(body), headers });
    expect(status).toBe(201);
    return order;
  };

  /** Places `count` orders, `concurrency` requests at a time; every fourth is above the limit. */
  const placeOrders = async (count: number, concurrency = 10): Promise<OrderView[]> => {
    const totals = Array.from({ length: count }, (_, i) => (i % 4 === 3 ? LIMIT + 1 + i * 100 : 500 + i * 731));
    const placed: OrderView[] = new Array(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) placed[i] = await placeOrder(totals[i]);
      }),
    );
    return placed;
  };

  const expectedStatus = (order: { totalAmount: number }) => (order.totalAmount > LIMIT ? 'CANCELLED' : 'CONFIRMED');

  /** Waits until every order has left PENDING (read from the order database, in one query). */
  const waitUntilSettled = async (orders: OrderView[], timeoutMs = 60_000) =>
    eventually(
      async () =>
        Number((await sql('order').query(`SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'PENDING'`, [orders.map((o) => o.id)])).rows[0].count),
      { accept: (pending) => pending === 0, timeoutMs, intervalMs: 250, what: `${orders.length} orders settled` },
    );

  /** Per order: how many payments, and how many notifications of its final event and of order.created. */
  const tally = async (orders: OrderView[]) => {
    const ids = orders.map((o) => o.id);
    const payments = await sql('payment').query(`SELECT order_id, status, reason FROM payments WHERE order_id = ANY($1)`, [ids]);
    const notifications = await sql('notification').query(`SELECT order_id, event_type, channel FROM notifications WHERE order_id = ANY($1)`, [ids]);
    return { payments: payments.rows, notifications: notifications.rows as { order_id: string; event_type: string; channel: string }[] };
  };

  const finalEventOf = (order: OrderView) => (expectedStatus(order) === 'CONFIRMED' ? Topics.OrderConfirmed : Topics.OrderCancelled);

  /** Each order's final event has been notified (log channel) — the last step of the saga. */
  const waitUntilNotified = (orders: OrderView[], timeoutMs = 30_000) =>
    eventually(
      async () => {
        const rows = (await tally(orders)).notifications;
        return orders.filter((o) => !rows.some((n) => n.order_id === o.id && n.event_type === finalEventOf(o))).length;
      },
      { accept: (missing) => missing === 0, timeoutMs, intervalMs: 250, what: 'every final order event notified' },
    );

  /** Distinct event ids per (order, topic) among the recorded messages (a relay may publish an event twice; consumers dedupe on the id). */
  const distinctEvents = (orderId: string, topic: string) =>
    new Set(recorder.messages.filter((m) => m.topic === topic && m.key?.toString() === orderId).map((m) => m.headers[EventHeaders.EventId])).size;

  /** Everything the saga promises for a set of orders, checked against the three databases and the recorded topics. */
  const expectSagaCompleted = async (orders: OrderView[]) => {
    await eventually(() => orders.filter((o) => distinctEvents(o.id, finalEventOf(o)) === 0).length, {
      accept: (missing) => missing === 0,
      what: 'every final order event recorded',
    });
    const { payments, notifications } = await tally(orders);
    const statuses = (await sql('order').query(`SELECT id, status FROM orders WHERE id = ANY($1)`, [orders.map((o) => o.id)])).rows as {
      id: string;
      status: string;
    }[];
    for (const order of orders) {
      const expected = expectedStatus(order);
      const declined = expected === 'CANCELLED';
      expect({ order: order.id, status: statuses.find((s) => s.id === order.id)?.status }).toEqual({ order: order.id, status: expected });
      expect(payments.filter((p) => p.order_id === order.id)).toEqual([
        { order_id: order.id, status: declined ? 'DECLINED' : 'AUTHORIZED', reason: declined ? 'limit_exceeded' : null },
      ]);
      const mine = notifications
        .filter((n) => n.order_id === order.id && n.channel === 'log')
        .map((n) => n.event_type)
        .sort();
      expect({ order: order.id, notified: mine }).toEqual({
        order: order.id,
        notified: (declined ? [Topics.OrderCancelled, Topics.OrderCreated, Topics.PaymentFailed] : [Topics.OrderConfirmed, Topics.OrderCreated]).sort(),
      });
      expect(distinctEvents(order.id, declined ? Topics.PaymentFailed : Topics.PaymentCompleted)).toBe(1);
      expect(distinctEvents(order.id, declined ? Topics.PaymentCompleted : Topics.PaymentFailed)).toBe(0);
      expect(distinctEvents(order.id, finalEventOf(order))).toBe(1);
    }
  };

  /** Types each event as one line into Kafka's own console producer, as a person at a terminal would: no key, no headers. */
  const typeByHand = (topic: string, ...events: EventEnvelope[]) =>
    sendWithConsoleProducer(
      topic,
      events.map((e) => JSON.stringify(e)),
      system.brokers,
    );

  const statusOf = async (orderId: string) => (await api<OrderView>(system.instance('order').url, `/orders/${orderId}`)).body.status;

  /** The `message` of each JSON log line of an app that mentions `text`. */
  const logMessagesAbout = (app: AppName, text: string) =>
    system
      .instance(app)
      .lines.filter((line) => line.includes(text))
      .map((line) => {
        try {
          return String((JSON.parse(line) as { message: unknown }).message);
        } catch {
          return line;
        }
      });

  // ---- the saga ---------------------------------------------------------------------------------

  it('runs 100 orders to CONFIRMED or CANCELLED by the payment limit, with one payment per order and one notification per final event, and the three apps agree (Done-when 1)', async () => {
    const started = Date.now();
    const orders = await placeOrders(100);
    expect(orders.filter((o) => o.totalAmount > LIMIT).length).toBe(25);
    await waitUntilSettled(orders);
    await waitUntilNotified(orders);
    process.stdout.write(`100 orders placed, paid, settled and notified in ${Date.now() - started} ms\n`);

    await expectSagaCompleted(orders);

    // The read APIs of the three apps tell the same story.
    for (const order of orders) {
      const [own, payments, notifications] = await Promise.all([
        api<OrderView>(system.instance('order').url, `/orders/${order.id}`),
        api<{ items: { status: string; reason: string | null; amount: number }[] }>(system.instance('payment').url, `/payments?orderId=${order.id}`),
        api<{ items: { eventType: string; correlationId: string }[] }>(system.instance('notification').url, `/notifications?orderId=${order.id}`),
      ]);
      const authorized = own.body.status === 'CONFIRMED';
      expect(own.body.status).toBe(expectedStatus(order));
      expect(payments.body.items).toEqual([expect.objectContaining({ status: authorized ? 'AUTHORIZED' : 'DECLINED', amount: order.totalAmount })]);
      expect(notifications.body.items.map((n) => n.eventType)).toContain(authorized ? Topics.OrderConfirmed : Topics.OrderCancelled);
      expect(new Set(notifications.body.items.map((n) => n.correlationId))).toEqual(new Set([order.correlationId]));
      if (!authorized) expect(own.body.reason).toBe(payments.body.items[0].reason);
    }
  });

  it("carries a correlation id given to POST /orders on every event of the order and on each app's log lines about it (Done-when 7)", async () => {
    const correlationId = `saga-trace-${randomUUID()}`;
    const paid = await placeOrder(4200, { 'X-Correlation-Id': correlationId });
    const declined = await placeOrder(LIMIT + 1, { 'X-Correlation-Id': correlationId });
    await waitUntilSettled([paid, declined]);
    await waitUntilNotified([paid, declined]);

    const events = (orderId: string) => recorder.messages.filter((m) => m.key?.toString() === orderId);
    const topicsOf = (messages: ConsumedMessage[]) => [...new Set(messages.map((m) => m.topic))].sort();
    expect(topicsOf(events(paid.id))).toEqual([Topics.OrderConfirmed, Topics.OrderCreated, Topics.PaymentCompleted].sort());
    expect(topicsOf(events(declined.id))).toEqual([Topics.OrderCancelled, Topics.OrderCreated, Topics.PaymentFailed].sort());
    for (const message of [...events(paid.id), ...events(declined.id)]) {
      expect({ topic: message.topic, value: JSON.parse(message.value!.toString()).correlationId, header: message.headers[EventHeaders.CorrelationId] }).toEqual(
        {
          topic: message.topic,
          value: correlationId,
          header: correlationId,
        },
      );
    }

    // Each app logs about the order, and every such line names the correlation id.
    for (const name of ['order', 'payment', 'notification'] as const) {
      for (const order of [paid, declined]) {
        const about = await eventually(() => logMessagesAbout(name, order.id), {
          accept: (lines) => lines.length > 0,
          timeoutMs: 5000,
          what: `${name} logged about ${order.id}`,
        });
        for (const message of about) expect({ app: name, message }).toEqual({ app: name, message: expect.stringContaining(correlationId) });
      }
    }
  });

  it('confirms a PENDING order on a payment.completed typed into kafka-console-producer, and dead-letters one for an unknown order after its retries while the consumer keeps going (Done-when 4)', async () => {
    // Payment stopped: new orders stay PENDING until someone pays them by hand.
    // Nest closes the app on SIGTERM, then re-raises the signal: a clean stop ends "by SIGTERM", not by the SIGKILL fallback.
    expect([0, 'SIGTERM']).toContain(await system.instance('payment').stop());
    const pending = await placeOrder(3100);
    const later = await placeOrder(3200);
    await recorder.waitFor(1, (m) => m.topic === Topics.OrderCreated && m.key?.toString() === later.id);
    expect(await statusOf(pending.id)).toBe('PENDING');

    await typeByHand(Topics.PaymentCompleted, paymentCompleted({ orderId: pending.id, amount: pending.totalAmount }, { correlationId: pending.correlationId }));
    await eventually(() => statusOf(pending.id), { accept: (s) => s === 'CONFIRMED', what: 'hand-paid order confirmed' });
    const [confirmed] = await recorder.waitFor(1, (m) => m.topic === Topics.OrderConfirmed && m.key?.toString() === pending.id);
    expect(JSON.parse(confirmed.value!.toString())).toMatchObject({ correlationId: pending.correlationId, data: { orderId: pending.id } });

    // A payment for an order nobody knows, then a good one right behind it.
    const ghost = randomUUID();
    await typeByHand(
      Topics.PaymentCompleted,
      paymentCompleted({ orderId: ghost, amount: 100 }, { correlationId: 'ghost-by-hand' }),
      paymentCompleted({ orderId: later.id, amount: later.totalAmount }, { correlationId: later.correlationId }),
    );
    const [letter] = await recorder.waitFor(1, (m) => m.topic === deadLetterTopic('order') && m.value?.toString().includes(ghost) === true);
    expect(letter.headers).toMatchObject({
      'dlq-original-topic': Topics.PaymentCompleted,
      'dlq-error-kind': 'handler_error',
      'dlq-attempts': '3',
      'dlq-consumer-group': 'order',
    });
    expect(letter.headers['dlq-error-message']).toContain(ghost);
    await eventually(() => statusOf(later.id), { accept: (s) => s === 'CONFIRMED', what: 'next hand-paid order confirmed' });
    const ready = await api<{ status: string }>(system.instance('order').url, '/health/ready');
    expect(ready.status).toBe(200);
  });

  it('handles every order once with two payment instances in one group, one of them killed with SIGKILL mid-run (Done-when 6)', async () => {
    // Slow the simulated gateway a little so that the kill lands while payments are being made.
    const slow = { PAYMENT_GATEWAY_LATENCY_MS: '100' };
    const [a, b] = await Promise.all([system.addInstance('payment', { env: slow }), system.addInstance('payment', { env: slow })]);
    expect(a.port).not.toBe(b.port);

    const paymentsBefore = Number((await sql('payment').query('SELECT count(*) FROM payments')).rows[0].count);
    const placing = placeOrders(100, 5);
    // Kill B once it is visibly making payments of this run.
    await eventually(() => b.lines.filter((line) => line.includes('AUTHORIZED') || line.includes('DECLINED')).length, {
      accept: (n) => n >= 5,
      timeoutMs: 60_000,
      what: 'instance B making payments',
    });
    expect(await b.kill('SIGKILL')).toBe('SIGKILL');
    const paidAtKill = Number((await sql('payment').query('SELECT count(*) FROM payments')).rows[0].count) - paymentsBefore;
    expect(paidAtKill).toBeLessThan(100); // the kill was mid-run

    const orders = await placing;
    const started = Date.now();
    // B's partitions move to A once the broker gives up on B's session (30 s).
    await waitUntilSettled(orders, 100_000);
    await waitUntilNotified(orders);
    process.stdout.write(`after SIGKILL (${paidAtKill} of 100 paid then), the rest settled in ${Date.now() - started} ms\n`);

    await expectSagaCompleted(orders);
    const duplicates = await sql('payment').query('SELECT order_id FROM payments GROUP BY order_id HAVING count(*) > 1');
    expect(duplicates.rows).toEqual([]);
    expect((await api(a.url, '/health/ready')).status).toBe(200);
  });
});
