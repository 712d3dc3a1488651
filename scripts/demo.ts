/**
 * `npm run demo`: the first thing to run after `npm start`.
 *
 * Places a handful of orders (some above the payment limit) through the order
 * app's HTTP API and follows each one's journey through the three apps' read
 * APIs — created → payment decided → confirmed/cancelled → notified — then
 * prints it with timings. It only talks HTTP to the running apps, like a user
 * would; the apps talk to each other through Kafka.
 *
 * Ports follow ORDER_PORT, PAYMENT_PORT and NOTIFICATION_PORT (defaults 3001,
 * 3002, 3003). Exit code 0 when every order completed its journey, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import { parseCommandLine } from '@lib/infra';

const USAGE = `usage: npm run demo

Places a handful of orders through the order app's HTTP API (npm start must be running) and follows each
one through the three apps' read APIs; exit 0 when every order completed its journey.

environment (or .env, as the apps read it): ORDER_PORT, PAYMENT_PORT, NOTIFICATION_PORT (defaults 3001, 3002,
3003), DEMO_HOST (default localhost), DEMO_TIMEOUT_MS (default 30000)`;

parseCommandLine({ usage: USAGE, options: {} });

const HOST = process.env.DEMO_HOST ?? 'localhost';
const url = (portVar: string, fallback: number) => `http://${HOST}:${process.env[portVar] ?? fallback}`;
const APPS = {
  order: url('ORDER_PORT', 3001),
  payment: url('PAYMENT_PORT', 3002),
  notification: url('NOTIFICATION_PORT', 3003),
} as const;
const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS ?? 30_000);
const DEFAULT_LIMIT = 100_000; // PAYMENT_MAX_AMOUNT's default, 1000.00

const tty = process.stdout.isTTY;
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const say = (line = '') => process.stdout.write(`${line}\n`);

interface Item {
  sku: string;
  quantity: number;
  unitPrice: number;
}
interface Order {
  id: string;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED';
  totalAmount: number;
  currency: string;
  correlationId: string;
  reason?: string;
  createdAt: string;
  updatedAt: string;
}
interface Payment {
  id: string;
  status: 'AUTHORIZED' | 'DECLINED';
  reason: string | null;
  createdAt: string;
}
interface Notification {
  eventType: string;
  channel: string;
  subject: string;
  createdAt: string;
}

/** What the demo buys: a mix under and over the default limit of 1000.00 EUR. */
const BASKETS: { label: string; items: Item[] }[] = [
  { label: '2 × coffee beans', items: [{ sku: 'COFFEE-1KG', quantity: 2, unitPrice: 1250 }] },
  { label: '1 × laptop', items: [{ sku: 'LAPTOP-15', quantity: 1, unitPrice: 129_900 }] },
  {
    label: '3 × paperback, 1 × lamp',
    items: [
      { sku: 'BOOK-PB', quantity: 3, unitPrice: 1999 },
      { sku: 'LAMP-DESK', quantity: 1, unitPrice: 3450 },
    ],
  },
  { label: '1 × television (exactly the limit)', items: [{ sku: 'TV-55', quantity: 1, unitPrice: 100_000 }] },
  { label: '1 × e-bike (one cent over)', items: [{ sku: 'EBIKE-1', quantity: 1, unitPrice: 100_001 }] },
  { label: '2 × headphones', items: [{ sku: 'HEADPHONES', quantity: 2, unitPrice: 8900 }] },
];

class NotRunningError extends Error {}

async function call<T>(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new NotRunningError(`${base} does not answer (${cause})`);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: response.status, body: body as T };
}

/** Every app must answer and be ready; otherwise say how to start them. */
async function checkApps(): Promise<void> {
  const answers = await Promise.all(
    Object.entries(APPS).map(async ([app, base]) => {
      try {
        const { status, body } = await call<{ error?: Record<string, { message?: string }> }>(base, '/health');
        if (status === 200) return null;
        const failed = Object.entries(body?.error ?? {}).map(([check, info]) => `${check}${info.message ? `: ${info.message}` : ''}`);
        return `${app} (${base}) is running but not healthy${failed.length ? ` — ${failed.join('; ')}` : ''}`;
      } catch (error) {
        return `${app} is not running: ${(error as Error).message}`;
      }
    }),
  );
  const problems = answers.filter((p): p is string => p !== null);
  if (problems.length === 0) return;
  const notRunning = problems.some((p) => p.includes('is not running'));
  throw new NotRunningError(
    [
      ...problems,
      '',
      notRunning
        ? 'Start the system first with `npm start` (in another terminal), wait for "all three apps are ready", then run `npm run demo` again.'
        : "Give the apps a moment (or check `npm start`'s output), then run `npm run demo` again.",
    ].join('\n'),
  );
}

const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;
const since = (from: string, to: string) => `+${String(Date.parse(to) - Date.parse(from)).padStart(5)} ms`;

interface Journey {
  basket: (typeof BASKETS)[number];
  order: Order;
  payment?: Payment;
  final?: Order;
  notified?: Notification;
}

/** Reads one order's state from the three apps; the journey is complete once its final event was notified. */
async function follow(journey: Journey): Promise<boolean> {
  const id = journey.order.id;
  const [order, payments, notifications] = await Promise.all([
    call<Order>(APPS.order, `/orders/${id}`),
    call<{ items: Payment[] }>(APPS.payment, `/payments?orderId=${id}`),
    call<{ items: Notification[] }>(APPS.notification, `/notifications?orderId=${id}`),
  ]);
  journey.payment ??= payments.body.items?.[0];
  if (order.body.status !== 'PENDING') journey.final = order.body;
  const finalType = journey.final?.status === 'CONFIRMED' ? 'order.confirmed' : journey.final?.status === 'CANCELLED' ? 'order.cancelled' : null;
  journey.notified ??= notifications.body.items?.find((n) => n.eventType === finalType);
  return Boolean(journey.payment && journey.final && journey.notified);
}

function print(journey: Journey, index: number): void {
  const { order, payment, final, notified, basket } = journey;
  const outcome = final?.status === 'CONFIRMED' ? green('CONFIRMED') : final?.status === 'CANCELLED' ? red('CANCELLED') : 'still PENDING';
  say(`${bold(`Order ${index + 1}`)}  ${money(order.totalAmount, order.currency).padStart(13)}  ${basket.label}  → ${outcome}`);
  say(dim(`          id ${order.id}   correlation id ${order.correlationId}`));
  const t0 = order.createdAt;
  say(`  ${since(t0, t0)}  created            order          PENDING, order.created written to the outbox`);
  say(
    payment
      ? `  ${since(t0, payment.createdAt)}  payment decided    payment        ${payment.status === 'AUTHORIZED' ? green('AUTHORIZED') : red(`DECLINED (${payment.reason})`)}`
      : `  ${'—'.padStart(9)}  payment decided    payment        ${red('no payment yet')}`,
  );
  say(
    final
      ? `  ${since(t0, final.updatedAt)}  ${final.status === 'CONFIRMED' ? 'confirmed' : 'cancelled'}          order          ${final.status}${final.reason ? ` (${final.reason})` : ''}`
      : `  ${'—'.padStart(9)}  settled            order          ${red('still PENDING')}`,
  );
  say(
    notified
      ? `  ${since(t0, notified.createdAt)}  notified           notification   "${notified.subject}" via ${notified.channel}`
      : `  ${'—'.padStart(9)}  notified           notification   ${red('not notified yet')}`,
  );
  say();
}

async function main(): Promise<void> {
  await checkApps();
  const run = randomUUID().slice(0, 8);
  say(bold(`Placing ${BASKETS.length} orders (payments above ${money(DEFAULT_LIMIT, 'EUR')} are declined by default) …`));
  say(dim(`order ${APPS.order}   payment ${APPS.payment}   notification ${APPS.notification}`));
  say();

  const started = Date.now();
  const journeys: Journey[] = [];
  for (const [i, basket] of BASKETS.entries()) {
    const { status, body } = await call<Order & { message?: unknown }>(APPS.order, '/orders', {
      method: 'POST',
      headers: { 'X-Correlation-Id': `demo-${run}-${i + 1}`, 'Idempotency-Key': `demo-${run}-${i + 1}` },
      body: JSON.stringify({ customerId: `demo-customer-${run}`, currency: 'EUR', items: basket.items }),
    });
    if (status !== 201) throw new Error(`POST /orders answered ${status}: ${JSON.stringify(body)}`);
    journeys.push({ basket, order: body });
  }

  const deadline = Date.now() + TIMEOUT_MS;
  let pending = journeys;
  while (pending.length > 0 && Date.now() < deadline) {
    const done = await Promise.all(pending.map(follow));
    pending = pending.filter((_, i) => !done[i]);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 100));
  }

  journeys.forEach(print);
  const confirmed = journeys.filter((j) => j.final?.status === 'CONFIRMED').length;
  const cancelled = journeys.filter((j) => j.final?.status === 'CANCELLED').length;
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  if (pending.length > 0) {
    say(red(`${pending.length} of ${journeys.length} orders did not finish their journey within ${TIMEOUT_MS / 1000} s.`));
    say("Check the apps' output in the `npm start` terminal, and `curl localhost:3002/health` (payment waits while its gateway is down).");
    process.exitCode = 1;
    return;
  }
  say(bold(`${journeys.length} orders: ${confirmed} confirmed, ${cancelled} cancelled — every journey complete in ${elapsed} s.`));
  say(dim("Times are from the order's creation, as recorded by each app. Follow one order with:"));
  say(dim(`  curl -s ${APPS.order}/orders/${journeys[0].order.id}`));
  say(dim(`  curl -s '${APPS.payment}/payments?orderId=${journeys[0].order.id}'`));
  say(dim(`  curl -s '${APPS.notification}/notifications?orderId=${journeys[0].order.id}'`));
}

main().catch((error: Error) => {
  if (error instanceof NotRunningError) {
    process.stderr.write(`npm run demo: the system is not up.\n${error.message}\n`);
  } else {
    process.stderr.write(`npm run demo failed: ${error.message}\n`);
  }
  process.exit(1);
});
