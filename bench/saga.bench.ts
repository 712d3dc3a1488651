/**
 * npm run bench:saga — the whole system end to end, from one run on one
 * machine: the three apps built with `nest build` and started as processes of
 * their own (what `nest start` runs), on a private Kafka broker (6 partitions)
 * and three throw-away databases, driven only through HTTP; outcomes are read
 * straight from the apps' databases.
 *
 * Run 1, saturation: N orders (default 2,000; `--orders N`) through
 *   POST /orders with a fixed number of requests in flight (default 16;
 *   `--concurrency C`), one in five above the payment limit. Then waits until
 *   every order is CONFIRMED or CANCELLED and every notification is recorded.
 * Run 2, fixed rate: 100 orders/s for 20 s (`--rate R`, `--seconds S`), open
 *   loop: each request is sent on schedule, whether or not earlier ones have
 *   been answered. What a user sees below saturation.
 *
 * Figures per run: HTTP accept rate and POST latency (client side), settled
 * throughput (first POST → last settlement), end-to-end latency per order
 * (orders.created_at → orders.updated_at), and when the last notification was
 * recorded. Next to them a correctness cross-check (not a test): status by
 * the payment rule, one payment per order, the expected notifications, empty
 * outboxes, and the consumers' retry / duplicate / dead-letter counters.
 *
 * Writes bench/results/saga-<date>.json and .md, prints a table, and stops
 * the apps, the broker and the databases at the end, also on failure.
 * Every wait is bounded (settlement: 5 minutes per run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensurePostgresRunning, kafkaVersion } from '@lib/infra';
import { AppName } from '@lib/events';
import { AppProcess, eventually, privateBroker, startSystem, System, TEST_POSTGRES_URL } from '@lib/testing';

// ---- parameters ---------------------------------------------------------------------------------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[`BENCH_${name.toUpperCase()}`];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number, got "${raw}"`);
  return value;
}

const ORDERS = Math.round(arg('orders', 2_000));
const CONCURRENCY = Math.round(arg('concurrency', 16));
const RATE_PER_S = arg('rate', 100);
const RATE_SECONDS = arg('seconds', 20);
const SETTLE_TIMEOUT_MS = arg('settle-timeout', 300) * 1000;
const BROKER_NAME = 'bench-saga';
const BROKER_PORT = 29892;
const PARTITIONS = 6;
const FIRST_PORT = 3201; // order, payment, notification: 3201, 3202, 3203
const APPS: AppName[] = ['order', 'payment', 'notification'];
const LIMIT = 100_000; // PAYMENT_MAX_AMOUNT's default: 1000.00
const ABOVE_LIMIT_EVERY = 5; // one order in five is declined
const ROOT = path.join(__dirname, '..');
const LOG_DIR = path.join(ROOT, '.local', 'logs', 'bench-saga');

// ---- small helpers ------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // the fixed-rate run's send schedule, not a wait for an outcome
const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en');

interface Distribution {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}
function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN), mean: round(mean) };
}

/** Ticks of CPU time (user + system) a process has used, from /proc; 0 when it is gone. */
function cpuTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  } catch {
    return 0;
  }
}
/** CPU ticks of every `postgres` process (the server is shared with whatever else runs on it). */
function postgresTicks(): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuTicks(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
const TICKS_PER_S = 100; // USER_HZ on Linux

// ---- the orders ---------------------------------------------------------------------------------

interface Planned {
  body: string;
  total: number;
}
/** Order i of a run: two lines; every fifth one above the payment limit. */
function planOrder(run: string, i: number): Planned {
  const above = i % ABOVE_LIMIT_EVERY === ABOVE_LIMIT_EVERY - 1;
  const first = above ? LIMIT - 5_000 + (i % 97) * 100 : 1_000 + ((i * 731) % 60_000);
  const second = above ? 10_000 + (i % 13) : 499 + (i % 11);
  const items = [
    { sku: 'TSHIRT-M-BLACK', quantity: 1, unitPrice: first },
    { sku: 'MUG-350ML', quantity: 1, unitPrice: second },
  ];
  return { body: JSON.stringify({ customerId: `${run}-c${i % 500}`, currency: 'EUR', items }), total: first + second };
}

interface Sent {
  index: number;
  total: number;
  /** performance.now() when the request was sent and when its answer was read. */
  sentAt: number;
  answeredAt: number;
  status: number;
  orderId?: string;
  error?: string;
}

async function postOrder(index: number, planned: Planned): Promise<Sent> {
  const sentAt = performance.now();
  try {
    const response = await fetch(`${system!.instance('order').url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: planned.body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const answeredAt = performance.now();
    const orderId = response.status === 201 ? (JSON.parse(text) as { id: string }).id : undefined;
    return { index, total: planned.total, sentAt, answeredAt, status: response.status, orderId, error: response.status === 201 ? undefined : text.slice(0, 200) };
  } catch (error) {
    return { index, total: planned.total, sentAt, answeredAt: performance.now(), status: 0, error: (error as Error).message };
  }
}

// ---- the run ------------------------------------------------------------------------------------

/** The apps, their broker and databases (startSystem); stop() releases them, also after a partial setup. */
let system: System<AppProcess> | undefined;
/** Settles once setting up has ended, either way; an interrupt waits for it before cleaning up. */
let setup: Promise<unknown> = Promise.resolve();
const interrupt = new AbortController();
let cleaning: Promise<void> | undefined;
const sql = (app: AppName) => system!.sql(app);

/** Stops everything this run started; safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (system?.stop() ?? Promise.resolve()).catch((e: Error) => {
    log(`  could not release everything: ${e.message}`);
  });
  return cleaning;
}

interface Outcome {
  id: string;
  status: string;
  total: number;
  createdMs: number;
  updatedMs: number;
}

/** What one run measured. */
async function measure(label: string, sent: Sent[], firstSentWall: number, firstSentPerf: number, lastAnsweredPerf: number, cpuBefore: Record<string, number>) {
  const accepted = sent.filter((s) => s.status === 201 && s.orderId);
  const ids = accepted.map((s) => s.orderId!);
  const pendingCount = async () => Number((await sql('order').query(`SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`, [ids])).rows[0].n);
  await eventually(pendingCount, { accept: (n) => n === 0, timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 250, what: `${label}: all ${ids.length} orders settled (none PENDING)` });

  // Notifications (log channel): order.created and the final event; a declined order also has payment.failed.
  const expectedNotifications = accepted.reduce((n, s) => n + (s.total > LIMIT ? 3 : 2), 0);
  const notificationCount = async () => Number((await sql('notification').query(`SELECT count(*) AS n FROM notifications WHERE order_id = ANY($1::uuid[]) AND channel = 'log'`, [ids])).rows[0].n);
  await eventually(notificationCount, {
    accept: (n) => n >= expectedNotifications,
    timeoutMs: SETTLE_TIMEOUT_MS,
    intervalMs: 250,
    what: `${label}: all ${expectedNotifications} notifications recorded`,
  });
  const cpuAfter = cpuSample();
  const wallSeconds = (Date.now() - firstSentWall) / 1000;

  const rows = (
    await sql('order').query(
      `SELECT id, status, total_amount::float8 AS total, extract(epoch FROM created_at) * 1000 AS created_ms, extract(epoch FROM updated_at) * 1000 AS updated_ms
         FROM orders WHERE id = ANY($1::uuid[])`,
      [ids],
    )
  ).rows.map((r: { id: string; status: string; total: number; created_ms: string; updated_ms: string }): Outcome => ({
    id: r.id,
    status: r.status,
    total: Number(r.total),
    createdMs: Number(r.created_ms),
    updatedMs: Number(r.updated_ms),
  }));
  const lastSettledMs = Math.max(...rows.map((r) => r.updatedMs));
  const firstCreatedMs = Math.min(...rows.map((r) => r.createdMs));
  const lastNotified = (await sql('notification').query(`SELECT extract(epoch FROM max(created_at)) * 1000 AS ms FROM notifications WHERE order_id = ANY($1::uuid[])`, [ids])).rows[0];
  const lastNotifiedMs = Number(lastNotified.ms);
  const finalNotifications = (
    await sql('notification').query(
      `SELECT order_id, extract(epoch FROM created_at) * 1000 AS ms FROM notifications WHERE order_id = ANY($1::uuid[]) AND channel = 'log' AND event_type IN ('order.confirmed', 'order.cancelled')`,
      [ids],
    )
  ).rows as { order_id: string; ms: string }[];
  const createdById = new Map(rows.map((r) => [r.id, r.createdMs]));

  const postMs = accepted.map((s) => s.answeredAt - s.sentAt);
  const lastAnsweredWall = firstSentWall + (lastAnsweredPerf - firstSentPerf);
  const sendSeconds = (lastAnsweredPerf - firstSentPerf) / 1000;
  const settleSeconds = (lastSettledMs - firstSentWall) / 1000;
  const cpu = Object.fromEntries(Object.keys(cpuBefore).map((k) => [k, round((cpuAfter[k] - cpuBefore[k]) / TICKS_PER_S, 1)]));

  return {
    orders: sent.length,
    accepted: accepted.length,
    rejected: sent.length - accepted.length,
    rejections: [...new Set(sent.filter((s) => s.status !== 201).map((s) => `${s.status} ${s.error ?? ''}`.trim()))].slice(0, 5),
    acceptedPerSecond: round(accepted.length / sendSeconds),
    sendSeconds: round(sendSeconds, 2),
    postLatencyMs: distribution(postMs),
    settledPerSecond: round(accepted.length / settleSeconds),
    settleSeconds: round(settleSeconds, 2),
    lastSettlementAfterLastAcceptSeconds: round((lastSettledMs - firstSentWall) / 1000 - sendSeconds, 2),
    // Settlements while POSTs were still being answered, and the rate of the rest once the HTTP load had stopped.
    settledWhileSending: rows.filter((r) => r.updatedMs <= lastAnsweredWall).length,
    drainAfterSendingPerSecond: round(rows.filter((r) => r.updatedMs > lastAnsweredWall).length / Math.max(0.001, (lastSettledMs - lastAnsweredWall) / 1000)),
    endToEndMs: distribution(rows.map((r) => r.updatedMs - r.createdMs)),
    notifications: {
      expected: expectedNotifications,
      lastRecordedSeconds: round((lastNotifiedMs - firstSentWall) / 1000, 2),
      lastRecordedAfterLastSettlementSeconds: round((lastNotifiedMs - lastSettledMs) / 1000, 2),
      finalEventNotifiedMs: distribution(finalNotifications.map((n) => Number(n.ms) - (createdById.get(n.order_id) ?? NaN)).filter(Number.isFinite)),
    },
    firstCreatedAfterFirstSendMs: round(firstCreatedMs - firstSentWall),
    cpuSeconds: { ...cpu, wallSeconds: round(wallSeconds, 1) },
    rows,
  };
}

function cpuSample(): Record<string, number> {
  const sample: Record<string, number> = {};
  for (const app of APPS) sample[app] = cpuTicks(system!.instance(app).pid);
  sample.broker = cpuTicks(system!.kafka.nodes[0].pid());
  sample.postgres = postgresTicks();
  sample.bench = cpuTicks(process.pid);
  return sample;
}

/** Per-app consumer outcomes from /metrics (handled, duplicate, retried, dead_lettered), and mean handling / outbox publish times. */
async function consumerCounters(): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const app of APPS) {
    const text = await (await fetch(`${system!.instance(app).url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^consumer_messages_total\{([^}]*)\} (\S+)$/gm)) {
      const outcome = /outcome="([^"]+)"/.exec(m[1])?.[1] ?? '?';
      counts[outcome] = (counts[outcome] ?? 0) + Number(m[2]);
    }
    // Means over the whole bench (warm-up and both runs), from the apps' own histograms.
    const total = (metric: string) => [...text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    const mean = (name: string) => (total(`${name}_count`) ? round((total(`${name}_sum`) / total(`${name}_count`)) * 1000) : undefined);
    counts.meanHandleMs = mean('consumer_handle_duration_seconds') ?? NaN;
    const publish = mean('outbox_publish_latency_seconds');
    if (publish !== undefined) counts.meanOutboxPublishMs = publish;
    out[app] = counts;
  }
  return out;
}

/** The cross-check of one run's orders against the three databases. */
async function crossCheck(rows: Outcome[]) {
  const ids = rows.map((r) => r.id);
  const expected = (r: Outcome) => (r.total > LIMIT ? 'CANCELLED' : 'CONFIRMED');
  const wrongStatus = rows.filter((r) => r.status !== expected(r)).length;
  const payments = (await sql('payment').query(`SELECT order_id, status, reason FROM payments WHERE order_id = ANY($1::uuid[])`, [ids])).rows as { order_id: string; status: string; reason: string | null }[];
  const paymentsByOrder = new Map<string, { status: string; reason: string | null }[]>();
  for (const p of payments) paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
  const notOnePayment = rows.filter((r) => (paymentsByOrder.get(r.id) ?? []).length !== 1).length;
  const wrongPayment = rows.filter((r) => {
    const [p] = paymentsByOrder.get(r.id) ?? [];
    return !p || (r.total > LIMIT ? p.status !== 'DECLINED' || p.reason !== 'limit_exceeded' : p.status !== 'AUTHORIZED');
  }).length;
  const notifications = (await sql('notification').query(`SELECT order_id, event_type, channel FROM notifications WHERE order_id = ANY($1::uuid[])`, [ids])).rows as { order_id: string; event_type: string; channel: string }[];
  const byOrder = new Map<string, string[]>();
  for (const n of notifications) if (n.channel === 'log') byOrder.set(n.order_id, [...(byOrder.get(n.order_id) ?? []), n.event_type]);
  const wrongNotifications = rows.filter((r) => {
    const want = (r.total > LIMIT ? ['order.cancelled', 'order.created', 'payment.failed'] : ['order.confirmed', 'order.created']).join(',');
    return (byOrder.get(r.id) ?? []).sort().join(',') !== want;
  }).length;
  return {
    orders: rows.length,
    confirmed: rows.filter((r) => r.status === 'CONFIRMED').length,
    cancelled: rows.filter((r) => r.status === 'CANCELLED').length,
    wrongStatus,
    payments: payments.length,
    ordersWithoutExactlyOnePayment: notOnePayment,
    wrongPaymentDecision: wrongPayment,
    notifications: notifications.length,
    ordersWithWrongNotifications: wrongNotifications,
  };
}

async function runSaturation(run: string) {
  const planned = Array.from({ length: ORDERS }, (_, i) => planOrder(run, i));
  const sent: Sent[] = new Array(ORDERS);
  const cpuBefore = cpuSample();
  const firstSentWall = Date.now();
  const firstSentPerf = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ORDERS; i = next++) sent[i] = await postOrder(i, planned[i]);
    }),
  );
  const lastAnswered = Math.max(...sent.map((s) => s.answeredAt));
  log(`  run 1: ${ORDERS} POSTs answered in ${round((lastAnswered - firstSentPerf) / 1000, 2)} s; waiting for settlement`);
  return measure('run 1', sent, firstSentWall, firstSentPerf, lastAnswered, cpuBefore);
}

async function runFixedRate(run: string) {
  const total = Math.round(RATE_PER_S * RATE_SECONDS);
  const planned = Array.from({ length: total }, (_, i) => planOrder(run, i));
  const pending: Promise<Sent>[] = [];
  const cpuBefore = cpuSample();
  const firstSentWall = Date.now();
  const start = performance.now();
  let inFlight = 0;
  let maxInFlight = 0;
  let lateTicks = 0;
  let next = 0;
  while (next < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE_PER_S) + 1);
    if (due - next > RATE_PER_S / 20) lateTicks++; // more than 50 ms behind schedule
    while (next < due) {
      const i = next++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(postOrder(i, planned[i]).finally(() => inFlight--));
    }
    await sleep(2);
  }
  const sendWindow = (performance.now() - start) / 1000;
  const sent = await Promise.all(pending);
  const lastAnswered = Math.max(...sent.map((s) => s.answeredAt));
  log(`  run 2: ${total} POSTs sent in ${round(sendWindow, 2)} s (at most ${maxInFlight} in flight); waiting for settlement`);
  const measured = await measure('run 2', sent, firstSentWall, start, lastAnswered, cpuBefore);
  return { ...measured, targetPerSecond: RATE_PER_S, sentPerSecond: round(total / sendWindow), maxInFlight, schedulerLateTicks: lateTicks };
}

async function outboxBacklog(): Promise<Record<string, number>> {
  const count = async (app: AppName) => Number((await sql(app).query('SELECT count(*) AS n FROM outbox')).rows[0].n);
  // Rows are deleted once the broker has acknowledged them: give the relays a moment after the last event.
  const read = async () => ({ order: await count('order'), payment: await count('payment') });
  return eventually(read, { accept: (b) => b.order === 0 && b.payment === 0, timeoutMs: 30_000, intervalMs: 200, what: 'outbox empty' }).catch(read);
}

async function main(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg()[0];
  const runId = `bench-${Date.now().toString(36)}`;
  log(`saga bench: ${ORDERS} orders at ${CONCURRENCY} in flight, then ${RATE_PER_S}/s for ${RATE_SECONDS} s; broker ${BROKER_NAME} on :${BROKER_PORT} (${PARTITIONS} partitions)`);
  let t = performance.now();
  await ensurePostgresRunning(`${TEST_POSTGRES_URL}/postgres`);

  // The broker, the databases and the bundles first (no instance yet), so that the apps' start is timed on its own.
  const starting = startSystem({
    name: BROKER_NAME,
    kafka: privateBroker({ port: BROKER_PORT, partitions: PARTITIONS }),
    processes: { order: 0, payment: 0, notification: 0 },
    ports: FIRST_PORT,
    env: { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
    logDir: LOG_DIR,
    signal: interrupt.signal,
  });
  setup = starting.catch(() => undefined);
  system = await starting;
  log(`  broker, databases and bundles ready in ${round((performance.now() - t) / 1000)} s`);

  t = performance.now();
  await Promise.all(APPS.map((app) => system!.addInstance(app)));
  log(`  apps ready in ${round((performance.now() - t) / 1000)} s (ports ${APPS.map((a) => system!.instance(a).port).join(', ')})`);

  // A few orders end to end before anything is timed: connections, JIT, consumer fetch loops.
  const warm = await Promise.all(Array.from({ length: 20 }, (_, i) => postOrder(i, planOrder(`${runId}-warm`, i))));
  if (warm.some((s) => s.status !== 201)) throw new Error(`warm-up orders refused: ${warm.find((s) => s.status !== 201)!.status} ${warm.find((s) => s.status !== 201)!.error}`);
  await eventually(async () => Number((await sql('order').query(`SELECT count(*) AS n FROM orders WHERE status = 'PENDING'`)).rows[0].n), {
    accept: (n) => n === 0,
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'warm-up: all orders settled (none PENDING)',
  });

  const saturation = await runSaturation(`${runId}-sat`);
  const saturationCheck = await crossCheck(saturation.rows);
  log(
    `  run 1: ${saturation.acceptedPerSecond} accepted/s, ${saturation.settledPerSecond} settled/s, end-to-end p50 ${saturation.endToEndMs.p50} ms p99 ${saturation.endToEndMs.p99} ms`,
  );
  await outboxBacklog();
  const fixed = await runFixedRate(`${runId}-rate`);
  const fixedCheck = await crossCheck(fixed.rows);
  log(`  run 2: ${fixed.sentPerSecond} sent/s, POST p99 ${fixed.postLatencyMs.p99} ms, end-to-end p50 ${fixed.endToEndMs.p50} ms p99 ${fixed.endToEndMs.p99} ms`);

  const backlog = await outboxBacklog();
  const counters = await consumerCounters();
  const appWarnings = Object.fromEntries(APPS.map((app) => [app, system!.instance(app).lines.filter((l) => l.trim()).length]));

  const strip = <T extends { rows: unknown }>(r: T): Omit<T, 'rows'> => {
    const { rows: _rows, ...rest } = r;
    return rest;
  };
  const cpu = os.cpus();
  const result = {
    benchmark: 'saga',
    startedAt: started.toISOString(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0], 2) },
    },
    setup: {
      kafka: `${kafkaVersion()}, one local KRaft broker of the bench's own, replication factor 1`,
      partitions: PARTITIONS,
      apps: 'order, payment, notification: one process each, `nest build` bundles, default settings except LOG_LEVEL=warn, LOG_FORMAT=json',
      consumerConcurrency: 3,
      outboxPollIntervalMs: 1000,
      paymentLimit: LIMIT,
      declinedShare: 1 / ABOVE_LIMIT_EVERY,
      note: 'broker, PostgreSQL, the three apps and this load generator share the CPUs',
    },
    saturation: { concurrency: CONCURRENCY, ...strip(saturation), check: saturationCheck },
    fixedRate: { ...strip(fixed), check: fixedCheck },
    afterBoth: { outboxRows: backlog, consumerMessages: counters, appLogLinesAtWarnOrAbove: appWarnings },
    method: {
      postLatency: 'client side, from fetch() to the body read, performance.now()',
      acceptRate: 'accepted orders / (first POST sent → last POST answered)',
      settledThroughput: 'accepted orders / (first POST sent, wall clock → latest orders.updated_at among them, DB clock on the same machine)',
      endToEnd: 'per order, orders.updated_at − orders.created_at: both are transaction start times (now()) of the placing and the settling transaction',
      notifications: 'latest notifications.created_at of the run\'s orders (all channels), from the first POST; the final-event figure is notifications.created_at of order.confirmed / order.cancelled − orders.created_at',
      cpuSeconds: 'CPU time used from the first POST until every notification was seen, per process from /proc (postgres: every postgres process on the machine)',
    },
  };

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `saga-${started.toISOString().slice(0, 10)}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, markdown(result));
  log('');
  log(markdown(result));
  log(`written to ${path.relative(process.cwd(), base)}.json and .md; app logs in ${path.relative(process.cwd(), LOG_DIR)}/`);
}

type Result = {
  startedAt: string;
  machine: { cpus: number; cpuModel?: string; node: string; loadAverage1m: { atStart: number; atEnd: number } };
  setup: { kafka: string; partitions: number; apps: string; consumerConcurrency: number; paymentLimit: number; declinedShare: number; note: string };
  saturation: RunFigures & { concurrency: number };
  fixedRate: RunFigures & { targetPerSecond: number; sentPerSecond: number; maxInFlight: number };
  afterBoth: { outboxRows: Record<string, number>; consumerMessages: Record<string, Record<string, number>>; appLogLinesAtWarnOrAbove: Record<string, number> };
  method: Record<string, string>;
};
type RunFigures = {
  orders: number;
  accepted: number;
  rejected: number;
  acceptedPerSecond: number;
  postLatencyMs: Distribution;
  settledPerSecond: number;
  settleSeconds: number;
  settledWhileSending: number;
  drainAfterSendingPerSecond: number;
  endToEndMs: Distribution;
  notifications: { expected: number; lastRecordedSeconds: number; lastRecordedAfterLastSettlementSeconds: number; finalEventNotifiedMs: Distribution };
  cpuSeconds: Record<string, number>;
  check: Awaited<ReturnType<typeof crossCheck>>;
};

function markdown(r: Result): string {
  const s = r.saturation;
  const f = r.fixedRate;
  const lat = (d: Distribution, max = true) => `p50 ${fmt(d.p50)} · p95 ${fmt(d.p95)} · p99 ${fmt(d.p99)}${max ? ` · max ${fmt(d.max)}` : ''} ms`;
  const check = (c: RunFigures['check']) =>
    `${c.confirmed} confirmed + ${c.cancelled} cancelled, ${c.wrongStatus} against the rule; ${c.payments} payments, ${c.ordersWithoutExactlyOnePayment} orders without exactly one, ${c.wrongPaymentDecision} wrong decisions; ${c.notifications} notifications, ${c.ordersWithWrongNotifications} orders with a wrong set`;
  const cpu = (c: Record<string, number>) =>
    `${Object.entries(c)
      .filter(([k]) => k !== 'wallSeconds')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} (over ${c.wallSeconds} s of wall time, ${r.machine.cpus} CPUs)`;
  const counters = Object.entries(r.afterBoth.consumerMessages)
    .map(([app, c]) => `${app} ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`)
    .join('; ');
  return [
    `# Saga benchmark, ${r.startedAt}`,
    '',
    `${r.machine.cpus} CPUs (${r.machine.cpuModel ?? 'unknown'}), Node ${r.machine.node}, 1-minute load average ${r.machine.loadAverage1m.atStart} at start and ${r.machine.loadAverage1m.atEnd} at the end; ${r.setup.note}.`,
    `Kafka ${r.setup.kafka}, ${r.setup.partitions} partitions per topic; ${r.setup.apps}; consumer concurrency ${r.setup.consumerConcurrency} partitions per app.`,
    `Orders of two lines, ${Math.round(r.setup.declinedShare * 100)} % above the payment limit (${r.setup.paymentLimit / 100} EUR) and so declined.`,
    '',
    `| measure | run 1: ${fmt(s.orders)} orders, ${s.concurrency} requests in flight | run 2: ${f.targetPerSecond} orders/s for ${round(f.orders / f.targetPerSecond)} s, open loop |`,
    '| --- | --- | --- |',
    `| POST /orders accepted | ${fmt(s.acceptedPerSecond)} orders/s (${s.accepted} of ${s.orders}) | ${f.sentPerSecond} orders/s sent, ${f.accepted} of ${f.orders} accepted, at most ${f.maxInFlight} in flight |`,
    `| POST latency | ${lat(s.postLatencyMs)} | ${lat(f.postLatencyMs)} |`,
    `| settled throughput (first POST → last settlement) | ${fmt(s.settledPerSecond)} orders/s (${s.settleSeconds} s) | ${fmt(f.settledPerSecond)} orders/s (${f.settleSeconds} s) |`,
    `| settled while POSTs were answered; drain rate of the rest after the last answer | ${s.settledWhileSending} of ${s.accepted}; ${fmt(s.drainAfterSendingPerSecond)} orders/s | ${f.settledWhileSending} of ${f.accepted}; ${fmt(f.drainAfterSendingPerSecond)} orders/s |`,
    `| end to end (created → CONFIRMED / CANCELLED) | ${lat(s.endToEndMs)} | ${lat(f.endToEndMs)} |`,
    `| every notification recorded (${s.notifications.expected} / ${f.notifications.expected}) | ${s.notifications.lastRecordedSeconds} s after the first POST (${s.notifications.lastRecordedAfterLastSettlementSeconds} s after the last settlement) | ${f.notifications.lastRecordedSeconds} s after the first POST (${f.notifications.lastRecordedAfterLastSettlementSeconds} s after the last settlement) |`,
    `| created → final event notified | ${lat(s.notifications.finalEventNotifiedMs)} | ${lat(f.notifications.finalEventNotifiedMs)} |`,
    `| CPU seconds used | ${cpu(s.cpuSeconds)} | ${cpu(f.cpuSeconds)} |`,
    '',
    'Cross-check (not a test):',
    '',
    `- run 1: ${check(s.check)}.`,
    `- run 2: ${check(f.check)}.`,
    `- after both: outbox rows left ${Object.entries(r.afterBoth.outboxRows).map(([k, v]) => `${k} ${v}`).join(', ')}; consumer messages (incl. 20 warm-up orders) and mean times from the apps' histograms: ${counters}; app log lines at warn or above ${Object.entries(r.afterBoth.appLogLinesAtWarnOrAbove).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    'Method:',
    '',
    ...Object.entries(r.method).map(([k, v]) => `- ${k}: ${v}`),
    '',
  ].join('\n');
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${signal}: stopping the apps, the broker and the databases…`);
    // While setting up, startSystem releases what it started once the step in hand ends; then cleanup.
    interrupt.abort();
    void setup.then(cleanup).finally(() => process.exit(130));
  });
}

void main()
  .then(
    () => 0,
    (error) => {
      if (!interrupted) console.error(`saga bench failed: ${(error as Error).stack ?? error}`);
      return 1;
    },
  )
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
