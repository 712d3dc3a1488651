/**
 * Peer (b) of `npm run bench:saga`: the minimal hand-written dual write that
 * users build instead of an outbox — plain `pg` and kafkajs, no framework, no
 * outbox, no inbox. Each service commits its row, then sends its event; a
 * crash between the two loses the event, a redelivery repeats the effect.
 * Same flow, HTTP API, payment rule and notification effect as the apps.
 *
 * One process per service: PEER_ROLE = order | payment | notification, with
 * DATABASE_URL (its own database), KAFKA_BROKERS, TOPIC_PREFIX, PORT (HTTP:
 * `POST /orders`, `GET /health`), PAYMENT_MAX_AMOUNT (default 100000).
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Kafka, logLevel, Producer } from 'kafkajs';
import { Pool } from 'pg';

const role = process.env.PEER_ROLE as 'order' | 'payment' | 'notification';
const prefix = process.env.TOPIC_PREFIX ?? 'dw.';
const limit = Number(process.env.PAYMENT_MAX_AMOUNT ?? 100_000);
const topic = (type: string) => `${prefix}${type}`;

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined); // idle connections dropped at the end of the bench
const kafka = new Kafka({ clientId: `dw-${role}`, brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(','), logLevel: logLevel.NOTHING });
const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

interface Envelope {
  id: string;
  type: string;
  version: 1;
  occurredAt: string;
  source: string;
  correlationId: string;
  causationId: string | null;
  data: Record<string, unknown> & { orderId: string };
}

function envelope(type: string, data: Envelope['data'], correlationId: string, causationId: string | null): Envelope {
  return { id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), source: role, correlationId, causationId, data };
}

/** Sends an event keyed by its order (acks=-1, the kafkajs default). */
async function publish(event: Envelope): Promise<void> {
  await producer.send({ topic: topic(event.type), messages: [{ key: event.data.orderId, value: JSON.stringify(event) }] });
}

const schema: Record<typeof role, string> = {
  order: `CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, items jsonb NOT NULL, total_amount bigint NOT NULL,
    currency char(3) NOT NULL, correlation_id text NOT NULL, status_reason text,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`,
  payment: `CREATE TABLE IF NOT EXISTS payments (
    id uuid PRIMARY KEY, order_id uuid NOT NULL UNIQUE, status text NOT NULL, reason text, amount bigint NOT NULL,
    currency char(3) NOT NULL, correlation_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  notification: `CREATE TABLE IF NOT EXISTS notifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), event_id uuid NOT NULL, event_type text NOT NULL, order_id uuid NOT NULL,
    channel text NOT NULL, subject text NOT NULL, body text NOT NULL, correlation_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`,
};

// ---- order: POST /orders, and the payment outcome ---------------------------------------------

interface OrderBody {
  customerId: string;
  currency: string;
  items: { sku: string; quantity: number; unitPrice: number }[];
}

function invalid(body: unknown): string | null {
  const b = body as Partial<OrderBody> | null;
  if (!b || typeof b !== 'object') return 'body must be a JSON object';
  if (typeof b.customerId !== 'string' || b.customerId.length < 1 || b.customerId.length > 64) return 'customerId must be a string of 1 to 64 characters';
  if (typeof b.currency !== 'string' || !/^[A-Z]{3}$/.test(b.currency)) return 'currency must be an ISO 4217 code';
  if (!Array.isArray(b.items) || b.items.length < 1 || b.items.length > 100) return 'items must hold 1 to 100 lines';
  for (const item of b.items)
    if (typeof item?.sku !== 'string' || !Number.isInteger(item.quantity) || item.quantity < 1 || !Number.isInteger(item.unitPrice) || item.unitPrice < 0)
      return 'each item needs sku, quantity (1..1000) and unitPrice (>= 0)';
  return null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function placeOrder(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: OrderBody;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OrderBody;
  } catch {
    return send(res, 400, { message: 'body is not JSON' });
  }
  const problem = invalid(body);
  if (problem) return send(res, 400, { message: problem });
  const id = randomUUID();
  const correlationId = (req.headers['x-correlation-id'] as string | undefined) ?? randomUUID();
  const totalAmount = body.items.reduce((n, i) => n + i.quantity * i.unitPrice, 0);
  const { rows } = await pool.query<{ created_at: Date }>(
    `INSERT INTO orders (id, customer_id, status, items, total_amount, currency, correlation_id) VALUES ($1, $2, 'PENDING', $3, $4, $5, $6) RETURNING created_at`,
    [id, body.customerId, JSON.stringify(body.items), totalAmount, body.currency, correlationId],
  );
  // The dual write: committed above, published here; a crash in between loses order.created.
  await publish(
    envelope('order.created', { orderId: id, customerId: body.customerId, items: body.items, totalAmount, currency: body.currency }, correlationId, null),
  );
  send(res, 201, {
    id,
    status: 'PENDING',
    customerId: body.customerId,
    items: body.items,
    totalAmount,
    currency: body.currency,
    createdAt: rows[0].created_at,
  });
}

async function settleOrder(event: Envelope): Promise<void> {
  const confirmed = event.type === 'payment.completed';
  const { rowCount } = await pool.query(`UPDATE orders SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1 AND status = 'PENDING'`, [
    event.data.orderId,
    confirmed ? 'CONFIRMED' : 'CANCELLED',
    confirmed ? null : (event.data.reason ?? 'payment_failed'),
  ]);
  if (rowCount === 0) return;
  await publish(
    envelope(
      confirmed ? 'order.confirmed' : 'order.cancelled',
      confirmed ? { orderId: event.data.orderId } : { orderId: event.data.orderId, reason: event.data.reason },
      event.correlationId,
      event.id,
    ),
  );
}

// ---- payment and notification ---------------------------------------------------------------

async function pay(event: Envelope): Promise<void> {
  const amount = Number(event.data.totalAmount);
  const authorized = amount <= limit;
  const paymentId = randomUUID();
  await pool.query(`INSERT INTO payments (id, order_id, status, reason, amount, currency, correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
    paymentId,
    event.data.orderId,
    authorized ? 'AUTHORIZED' : 'DECLINED',
    authorized ? null : 'limit_exceeded',
    amount,
    event.data.currency,
    event.correlationId,
  ]);
  await publish(
    envelope(
      authorized ? 'payment.completed' : 'payment.failed',
      authorized
        ? { orderId: event.data.orderId, paymentId, amount, currency: event.data.currency }
        : { orderId: event.data.orderId, paymentId, reason: 'limit_exceeded' },
      event.correlationId,
      event.id,
    ),
  );
}

async function notify(event: Envelope): Promise<void> {
  await pool.query(
    `INSERT INTO notifications (event_id, event_type, order_id, channel, subject, body, correlation_id) VALUES ($1, $2, $3, 'log', $4, $5, $6)`,
    [event.id, event.type, event.data.orderId, `${event.type} ${event.data.orderId}`, JSON.stringify(event.data), event.correlationId],
  );
}

const handlers: Record<typeof role, [string[], (event: Envelope) => Promise<void>]> = {
  order: [['payment.completed', 'payment.failed'], settleOrder],
  payment: [['order.created'], pay],
  notification: [['order.created', 'order.confirmed', 'order.cancelled', 'payment.failed'], notify],
};

async function main(): Promise<void> {
  await pool.query(schema[role]);
  await producer.connect();
  const [types, handle] = handlers[role];
  const consumer = kafka.consumer({ groupId: `dw-${role}` });
  await consumer.connect();
  await consumer.subscribe({ topics: types.map(topic), fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachMessage: async ({ message }) => handle(JSON.parse(message.value!.toString('utf8')) as Envelope),
  });
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/orders' && role === 'order')
      placeOrder(req, res).catch((error: Error) => send(res, 503, { message: `could not place the order: ${error.message}` }));
    else if (req.method === 'GET' && req.url === '/health') send(res, 200, { status: 'ok' });
    else send(res, 404, { message: 'not found' });
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const stop = () => {
    server.close();
    void Promise.allSettled([consumer.disconnect(), producer.disconnect()])
      .then(() => pool.end())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: Error) => {
  console.error(`dual-write ${role} failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
