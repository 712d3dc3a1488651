import { AppName, deadLetterTopic, EventHeaders, Topics } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { createTestDatabase, eventually, startPrivateKafka, TopicRecorder } from '@lib/testing';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { RunningApp, startApp, stopApp, waitUntilReady } from '@lib/infra';
import { buildSnapshot } from './support/app-snapshot';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..');
const BROKER_PORT = 29392;
/**
 * Runs the suite against a given Kafka instead of its private broker, e.g. the
 * three-node cluster of `npm run infra:up -- --brokers 3`:
 * `SAGA_E2E_KAFKA_BROKERS=localhost:9092,localhost:9094,localhost:9096 npx jest test/order-saga.e2e-spec.ts`.
 * Its contract topics must exist (infra:up creates them) and carry no other
 * saga's events (a fresh cluster); the suite leaves it running.
 */
const GIVEN_KAFKA = process.env.SAGA_E2E_KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
const PORTS = { order: 3101, payment: 3102, notification: 3103, paymentB: 3112 };
const LIMIT = 100_000; // PAYMENT_MAX_AMOUNT's default: 1000.00
const LOG_DIR = join(ROOT, '.local', 'logs', 'order-saga-e2e');

type OrderView = { id: string; status: string; totalAmount: number; correlationId: string; reason?: string };

/**
 * The whole system as a user runs it: the three apps built with `nest build`
 * and started as processes of their own (`node main.js`, what `nest start`
 * runs; the bundles are copied aside so that a concurrent build elsewhere
 * cannot pull them away mid-run), on a
 * private Kafka broker and three throw-away databases, driven only through
 * HTTP and Kafka — no app code is imported here.
 */
describe('order saga across the three apps', () => {
  let kafka: { brokers: string[]; stop: () => Promise<void> };
  const dbs = {} as Record<AppName, { url: string; drop: () => Promise<void> }>;
  const sql = {} as Record<AppName, Client>;
  let recorder: TopicRecorder;
  const running = new Map<string, RunningApp>();
  const bundles = {} as Record<AppName, string>;
  const logs = new Map<string, string[]>();

  const baseEnv = (): Record<string, string> => ({
    KAFKA_BROKERS: kafka.brokers.join(','),
    ORDER_DATABASE_URL: dbs.order.url,
    PAYMENT_DATABASE_URL: dbs.payment.url,
    NOTIFICATION_DATABASE_URL: dbs.notification.url,
    ORDER_PORT: String(PORTS.order),
    PAYMENT_PORT: String(PORTS.payment),
    NOTIFICATION_PORT: String(PORTS.notification),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'log',
    CONSUMER_MAX_ATTEMPTS: '3',
    CONSUMER_RETRY_BACKOFF_MS: '100',
    CONSUMER_MAX_RETRY_BACKOFF_MS: '1000',
    OUTBOX_POLL_INTERVAL_MS: '200',
  });

  /** Starts one app process under `name`, its output lines kept in `logs`, and waits until it is ready. */
  const launch = async (name: string, app: AppName, env: Record<string, string> = {}) => {
    const lines: string[] = [];
    logs.set(name, lines);
    const proc = startApp(app, { bundle: bundles[app], env: { ...baseEnv(), ...env }, onLine: (line) => lines.push(line) });
    running.set(name, proc);
    await waitUntilReady(proc, 90_000);
    return proc;
  };

  beforeAll(async () => {
    // Each resource is kept as soon as it exists, so that afterAll releases it even when another one failed.
    const setup = await Promise.allSettled([
      (GIVEN_KAFKA?.length ? Promise.resolve({ brokers: GIVEN_KAFKA, stop: async () => undefined }) : startPrivateKafka('e2e-saga', BROKER_PORT)).then(
        (broker) => (kafka = broker),
      ),
      createTestDatabase('saga_orders').then((db) => (dbs.order = db)),
      createTestDatabase('saga_payments').then((db) => (dbs.payment = db)),
      createTestDatabase('saga_notifications').then((db) => (dbs.notification = db)),
      // Built one after the other: parallel webpack runs on a small machine only fight for the CPU.
      (async () => {
        for (const app of ['order', 'payment', 'notification'] as const) bundles[app] = await buildSnapshot(app, 'order-saga');
      })(),
    ]);
    const failed = setup.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const app of ['order', 'payment', 'notification'] as const) {
      sql[app] = new Client({ connectionString: dbs[app].url });
      await sql[app].connect();
    }
    recorder = await TopicRecorder.start(
      [Topics.OrderCreated, Topics.OrderConfirmed, Topics.OrderCancelled, Topics.PaymentCompleted, Topics.PaymentFailed, deadLetterTopic('order')],
      kafka.brokers,
    );
    await Promise.all([launch('order', 'order'), launch('payment', 'payment'), launch('notification', 'notification')]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...running.values()].map((proc) => stopApp(proc, 10_000)));
    mkdirSync(LOG_DIR, { recursive: true });
    for (const [name, lines] of logs) writeFileSync(join(LOG_DIR, `${name}.log`), lines.join('\n') + '\n');
    await recorder?.stop();
    await Promise.all(Object.values(sql).map((c) => c.end().catch(() => undefined)));
    await kafka?.stop();
    await Promise.all(Object.values(dbs).map((db) => db.drop()));
  }, 120_000);

  // ---- driving the system over HTTP -------------------------------------------------------------

  const api = async <T = unknown>(port: number, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(`http://localhost:${port}${path}`, {
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
    const { status, body: order } = await api<OrderView>(PORTS.order, '/orders', { method: 'POST', body: JSON.stringify(body), headers });
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
      async () => Number((await sql.order.query(`SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'PENDING'`, [orders.map((o) => o.id)])).rows[0].count),
      { accept: (pending) => pending === 0, timeoutMs, intervalMs: 250, what: `${orders.length} orders settled` },
    );

  /** Per order: how many payments, and how many notifications of its final event and of order.created. */
  const tally = async (orders: OrderView[]) => {
    const ids = orders.map((o) => o.id);
    const payments = await sql.payment.query(`SELECT order_id, status, reason FROM payments WHERE order_id = ANY($1)`, [ids]);
    const notifications = await sql.notification.query(`SELECT order_id, event_type, channel FROM notifications WHERE order_id = ANY($1)`, [ids]);
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
    const statuses = (await sql.order.query(`SELECT id, status FROM orders WHERE id = ANY($1)`, [orders.map((o) => o.id)])).rows as { id: string; status: string }[];
    for (const order of orders) {
      const expected = expectedStatus(order);
      const declined = expected === 'CANCELLED';
      expect({ order: order.id, status: statuses.find((s) => s.id === order.id)?.status }).toEqual({ order: order.id, status: expected });
      expect(payments.filter((p) => p.order_id === order.id)).toEqual([
        { order_id: order.id, status: declined ? 'DECLINED' : 'AUTHORIZED', reason: declined ? 'limit_exceeded' : null },
      ]);
      const mine = notifications.filter((n) => n.order_id === order.id && n.channel === 'log').map((n) => n.event_type).sort();
      expect({ order: order.id, notified: mine }).toEqual({
        order: order.id,
        notified: (declined ? [Topics.OrderCancelled, Topics.OrderCreated, Topics.PaymentFailed] : [Topics.OrderConfirmed, Topics.OrderCreated]).sort(),
      });
      expect(distinctEvents(order.id, declined ? Topics.PaymentFailed : Topics.PaymentCompleted)).toBe(1);
      expect(distinctEvents(order.id, declined ? Topics.PaymentCompleted : Topics.PaymentFailed)).toBe(0);
      expect(distinctEvents(order.id, finalEventOf(order))).toBe(1);
    }
  };

  /** Types one line per value into Kafka's own console producer, as a person at a terminal would: no key, no headers. */
  const consoleProduce = (topic: string, values: object[]) =>
    new Promise<void>((resolve, reject) => {
      const producer = spawn(join(ROOT, 'bin', 'kafka-console-producer.sh'), ['--bootstrap-server', kafka.brokers.join(','), '--topic', topic], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      producer.stdout.on('data', (c: Buffer) => (output += c.toString()));
      producer.stderr.on('data', (c: Buffer) => (output += c.toString()));
      producer.on('error', reject);
      producer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka-console-producer exited ${code}: ${output}`))));
      producer.stdin.end(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
    });

  const paymentCompletedTypedByHand = (orderId: string, amount: number, correlationId: string) => ({
    id: randomUUID(),
    type: 'payment.completed',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'payment',
    correlationId,
    causationId: null,
    data: { orderId, paymentId: randomUUID(), amount, currency: 'EUR' },
  });

  const statusOf = async (orderId: string) => (await api<OrderView>(PORTS.order, `/orders/${orderId}`)).body.status;

  /** The `message` of each JSON log line of an app that mentions `text`. */
  const logMessagesAbout = (name: string, text: string) =>
    (logs.get(name) ?? [])
      .filter((line) => line.includes(text))
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
        api<OrderView>(PORTS.order, `/orders/${order.id}`),
        api<{ items: { status: string; reason: string | null; amount: number }[] }>(PORTS.payment, `/payments?orderId=${order.id}`),
        api<{ items: { eventType: string; correlationId: string }[] }>(PORTS.notification, `/notifications?orderId=${order.id}`),
      ]);
      const authorized = own.body.status === 'CONFIRMED';
      expect(own.body.status).toBe(expectedStatus(order));
      expect(payments.body.items).toEqual([expect.objectContaining({ status: authorized ? 'AUTHORIZED' : 'DECLINED', amount: order.totalAmount })]);
      expect(notifications.body.items.map((n) => n.eventType)).toContain(authorized ? Topics.OrderConfirmed : Topics.OrderCancelled);
      expect(new Set(notifications.body.items.map((n) => n.correlationId))).toEqual(new Set([order.correlationId]));
      if (!authorized) expect(own.body.reason).toBe(payments.body.items[0].reason);
    }
  });

  it('carries a correlation id given to POST /orders on every event of the order and on each app\'s log lines about it (Done-when 7)', async () => {
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
      expect({ topic: message.topic, value: JSON.parse(message.value!.toString()).correlationId, header: message.headers[EventHeaders.CorrelationId] }).toEqual({
        topic: message.topic,
        value: correlationId,
        header: correlationId,
      });
    }

    // Each app logs about the order, and every such line names the correlation id.
    for (const name of ['order', 'payment', 'notification']) {
      for (const order of [paid, declined]) {
        const about = await eventually(() => logMessagesAbout(name, order.id), { accept: (lines) => lines.length > 0, timeoutMs: 5000, what: `${name} logged about ${order.id}` });
        for (const message of about) expect({ app: name, message }).toEqual({ app: name, message: expect.stringContaining(correlationId) });
      }
    }
  });

  it('confirms a PENDING order on a payment.completed typed into kafka-console-producer, and dead-letters one for an unknown order after its retries while the consumer keeps going (Done-when 4)', async () => {
    // Payment stopped: new orders stay PENDING until someone pays them by hand.
    // Nest closes the app on SIGTERM, then re-raises the signal: a clean stop ends "by SIGTERM", not by the SIGKILL fallback.
    expect([0, 'SIGTERM']).toContain(await stopApp(running.get('payment')!));
    running.delete('payment');
    const pending = await placeOrder(3100);
    const later = await placeOrder(3200);
    await recorder.waitFor(1, (m) => m.topic === Topics.OrderCreated && m.key?.toString() === later.id);
    expect(await statusOf(pending.id)).toBe('PENDING');

    await consoleProduce(Topics.PaymentCompleted, [paymentCompletedTypedByHand(pending.id, pending.totalAmount, pending.correlationId)]);
    await eventually(() => statusOf(pending.id), { accept: (s) => s === 'CONFIRMED', what: 'hand-paid order confirmed' });
    const [confirmed] = await recorder.waitFor(1, (m) => m.topic === Topics.OrderConfirmed && m.key?.toString() === pending.id);
    expect(JSON.parse(confirmed.value!.toString())).toMatchObject({ correlationId: pending.correlationId, data: { orderId: pending.id } });

    // A payment for an order nobody knows, then a good one right behind it.
    const ghost = randomUUID();
    await consoleProduce(Topics.PaymentCompleted, [paymentCompletedTypedByHand(ghost, 100, 'ghost-by-hand'), paymentCompletedTypedByHand(later.id, later.totalAmount, later.correlationId)]);
    const [letter] = await recorder.waitFor(1, (m) => m.topic === deadLetterTopic('order') && m.value?.toString().includes(ghost) === true);
    expect(letter.headers).toMatchObject({ 'dlq-original-topic': Topics.PaymentCompleted, 'dlq-error-kind': 'handler_error', 'dlq-attempts': '3', 'dlq-consumer-group': 'order' });
    expect(letter.headers['dlq-error-message']).toContain(ghost);
    await eventually(() => statusOf(later.id), { accept: (s) => s === 'CONFIRMED', what: 'next hand-paid order confirmed' });
    const ready = await api<{ status: string }>(PORTS.order, '/health/ready');
    expect(ready.status).toBe(200);
  });

  it('handles every order once with two payment instances in one group, one of them killed with SIGKILL mid-run (Done-when 6)', async () => {
    // Slow the simulated gateway a little so that the kill lands while payments are being made.
    const slow = { PAYMENT_GATEWAY_LATENCY_MS: '100' };
    const [a, b] = await Promise.all([
      launch('payment-a', 'payment', { ...slow, PAYMENT_PORT: String(PORTS.payment) }),
      launch('payment-b', 'payment', { ...slow, PAYMENT_PORT: String(PORTS.paymentB) }),
    ]);
    expect(a.port).not.toBe(b.port);

    const paymentsBefore = Number((await sql.payment.query('SELECT count(*) FROM payments')).rows[0].count);
    const placing = placeOrders(100, 5);
    // Kill B once it is visibly making payments of this run.
    await eventually(() => logs.get('payment-b')!.filter((line) => line.includes('AUTHORIZED') || line.includes('DECLINED')).length, {
      accept: (n) => n >= 5,
      timeoutMs: 60_000,
      what: 'instance B making payments',
    });
    b.process.kill('SIGKILL');
    expect(await b.exited).toBe('SIGKILL');
    running.delete('payment-b');
    const paidAtKill = Number((await sql.payment.query('SELECT count(*) FROM payments')).rows[0].count) - paymentsBefore;
    expect(paidAtKill).toBeLessThan(100); // the kill was mid-run

    const orders = await placing;
    const started = Date.now();
    // B's partitions move to A once the broker gives up on B's session (30 s).
    await waitUntilSettled(orders, 100_000);
    await waitUntilNotified(orders);
    process.stdout.write(`after SIGKILL (${paidAtKill} of 100 paid then), the rest settled in ${Date.now() - started} ms\n`);

    await expectSagaCompleted(orders);
    const duplicates = await sql.payment.query('SELECT order_id FROM payments GROUP BY order_id HAVING count(*) > 1');
    expect(duplicates.rows).toEqual([]);
    expect((await api(PORTS.payment, '/health/ready')).status).toBe(200);
  });
});
