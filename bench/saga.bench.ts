/**
 * npm run bench:saga — the whole saga end to end, ours next to what users
 * build instead, in one run on one machine, on the same private Kafka broker
 * (6 partitions per topic), the same PostgreSQL server and the same load:
 *
 * - dual-write: bench/peers/dual-write.ts, plain `pg` + kafkajs, no framework,
 *   no outbox, no inbox (unsafe: a crash between commit and send loses the event);
 * - stock-nest: bench/peers/stock-nest.ts, TypeORM `save` then
 *   `ClientKafka.emit`, `@EventPattern` handlers, no outbox, no inbox (unsafe too);
 * - ours: the three apps built with `nest build`, run as processes by the
 *   toolkit's `startSystem`, every guarantee on.
 *
 * Each one gets its own three databases and topics, runs alone (the others
 * stopped), and goes through the same phases, driven only through
 * `POST /orders` (one order in five above the payment limit, so declined):
 *
 * 1. saturation: N orders with C requests in flight (closed loop); settled
 *    orders/s = orders / (first POST → last settlement);
 * 2. low rate: 10 orders/s, open loop: end-to-end latency (POST → final
 *    notification) and a per-hop breakdown from DB and Kafka timestamps;
 * 3. half: 50 % of that subject's saturation rate, open loop;
 * 4. overload: 2× its saturation rate for 30 s, open loop: settled/s during
 *    the window and drain rate after it.
 *
 * Per phase: CPU-ms per settled order per process (apps, broker, the
 * PostgreSQL backends of the subject's databases, from /proc/<pid>/stat),
 * statements (round trips) per order counted in every process's `pg` client
 * (bench/peers/count-queries.cjs), transactions per order from
 * pg_stat_database.xact_commit. Then a cross-check of every order (status by
 * the payment rule, one payment, the expected notifications, outboxes empty).
 *
 * Writes bench/results/saga-<date>[-quick].json and .md, prints the table, and
 * stops everything it started at the end, also on failure or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { ensurePostgresRunning, kafkaVersion, loadDotEnv } from '@lib/infra';
import { writeCharts } from './charts';
import { parseEnvAssignments } from './env-assignments';
import { AppName, Apps, Topics } from '@lib/events';
import { alterTopicConfigs, ensureTopics } from '@lib/kafka';
import {
  AppProcess,
  createTestDatabase,
  eventually,
  freePort,
  NodeProcess,
  privateBroker,
  startSystem,
  System,
  TEST_POSTGRES_URL,
  TestDatabase,
  TopicRecorder,
} from '@lib/testing';

// ---- parameters ---------------------------------------------------------------------------------

const SUBJECTS = ['dual-write', 'stock-nest', 'ours', 'ours-delivery', 'ours-admission'] as const;
type SubjectKey = (typeof SUBJECTS)[number];
/** Ours with one setting changed: a lever measured against ours as it is, in the same run. */
const OURS_VARIANTS: Partial<Record<SubjectKey, Record<string, string>>> = {
  'ours-delivery': { CONSUMER_UNIT_OF_WORK: 'delivery' },
  'ours-admission': { ORDER_ADMISSION_MAX_PENDING: '100' },
};
type OursKey = 'ours' | 'ours-delivery' | 'ours-admission';

const USAGE = `usage: npm run bench:saga -- [options]

Runs the saga benchmark: the dual-write peer, the stock-Nest peer and ours,
one after the other on the same broker, PostgreSQL and load.

  --quick                  a short run (fewer orders, shorter phases)
  --orders N               orders of the saturation phase (default 3000; quick 600)
  --concurrency C          requests in flight during saturation (default 32)
  --low-rate R             orders/s of the low-rate phase (default 10)
  --low-seconds S          length of the low-rate phase (default 30; quick 6)
  --half-seconds S         length of the 50 %-of-saturation phase (default 60; quick 10)
  --overload-seconds S     length of the 2x overload (default 30; quick 10)
  --only a,b               run only these subjects (default: all of ${SUBJECTS.join(', ')};
                           ours-delivery is ours with CONSUMER_UNIT_OF_WORK=delivery, ours-admission
                           ours with ORDER_ADMISSION_MAX_PENDING=100)
  --ours-env K=V,K=V       extra variables for our apps (e.g. a setting under test)
  --profile DIR            run our apps under node --cpu-prof, profiles in DIR/<subject>/
                           (summarize: npx ts-node bench/profile-summary.ts DIR/ours)
  --label L                suffix of the results file names
  -h, --help               this text`;

loadDotEnv(); // as the apps read it
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    orders: { type: 'string' },
    concurrency: { type: 'string' },
    'low-rate': { type: 'string' },
    'low-seconds': { type: 'string' },
    'half-seconds': { type: 'string' },
    'overload-seconds': { type: 'string' },
    only: { type: 'string' },
    'ours-env': { type: 'string' },
    label: { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
function num(name: keyof typeof opts, full: number, quick = full): number {
  const raw = opts[name];
  if (raw === undefined) return opts.quick ? quick : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number, got "${String(raw)}"`);
  return value;
}

const QUICK = opts.quick === true;
const ORDERS = Math.round(num('orders', 3000, 600));
const CONCURRENCY = Math.round(num('concurrency', 32));
const LOW_RATE = num('low-rate', 10);
const LOW_SECONDS = num('low-seconds', 30, 6);
const HALF_SECONDS = num('half-seconds', 60, 10);
const OVERLOAD_SECONDS = num('overload-seconds', 30, 10);
const ONLY = (opts.only ?? SUBJECTS.join(',')).split(',').map((s) => s.trim()) as SubjectKey[];
for (const s of ONLY) if (!SUBJECTS.includes(s)) throw new Error(`--only: unknown subject "${s}" (${SUBJECTS.join(', ')})`);
const OURS_ENV = parseEnvAssignments(opts['ours-env'], '--ours-env');
const SETTLE_TIMEOUT_MS = 300_000;
const BROKER_NAME = 'bench-saga';
const BROKER_PORT = 29892;
const PARTITIONS = 6;
const APPS: AppName[] = [...Apps];
const LIMIT = 100_000; // PAYMENT_MAX_AMOUNT's default: 1000.00
const ABOVE_LIMIT_EVERY = 5; // one order in five is declined
const ROOT = path.join(__dirname, '..');
const LOG_DIR = path.join(ROOT, '.local', 'logs', 'bench-saga');
const COUNT_QUERIES = path.join(__dirname, 'peers', 'count-queries.cjs');
const EVENT_TYPES = [Topics.OrderCreated, Topics.PaymentCompleted, Topics.PaymentFailed, Topics.OrderConfirmed, Topics.OrderCancelled] as string[];

// ---- small helpers ------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // the open-loop send schedule, not a wait for an outcome
const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}
function distribution(values: number[]): Distribution {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
    mean: round(mean),
  };
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
const TICKS_PER_S = 100; // USER_HZ on Linux

// ---- the subjects -------------------------------------------------------------------------------

/** One system under measurement: ours or a peer, with its databases, processes and topics. */
interface Subject {
  key: SubjectKey;
  description: string;
  orderUrl: string;
  sql(app: AppName): Pool;
  databaseName(app: AppName): string;
  pid(app: AppName): number | undefined;
  /** The five event topics, in the order of EVENT_TYPES. */
  topics: string[];
  hasOutbox: boolean;
  queryCountFile(app: AppName): string;
  stop(): Promise<void>;
}

let system: System<AppProcess> | undefined;
const interrupt = new AbortController();
let setup: Promise<unknown> = Promise.resolve();
const stoppers: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;

/** Stops everything this run started (peers first, then the system with the broker); safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of stoppers.reverse()) await stop().catch((e: Error) => log(`  could not release everything: ${e.message}`));
    await system?.stop().catch((e: Error) => log(`  could not release everything: ${e.message}`));
  })();
  return cleaning;
}

function countFile(key: SubjectKey, app: AppName): string {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  return path.join(LOG_DIR, `${key}-${app}.queries.json`);
}

/** A peer: three databases of its own, its topics, one process per service (bench/peers/<key>.ts). */
async function startPeer(key: 'dual-write' | 'stock-nest', brokers: string[]): Promise<Subject> {
  const prefix = key === 'dual-write' ? 'dw.' : 'nest.';
  const topics = EVENT_TYPES.map((t) => `${prefix}${t}`);
  await ensureTopics({ brokers, clientId: 'bench-saga-setup' }, topics, {
    partitions: PARTITIONS,
    replicationFactor: 1,
    configs: { 'message.timestamp.type': 'LogAppendTime' },
  });
  const databases = new Map<AppName, TestDatabase>();
  const pools = new Map<AppName, Pool>();
  const processes = new Map<AppName, NodeProcess>();
  const ports = new Map<AppName, number>();
  const stop = async () => {
    await Promise.all([...processes.values()].map((p) => p.stop().catch(() => undefined)));
    fs.mkdirSync(LOG_DIR, { recursive: true });
    for (const [app, p] of processes) fs.writeFileSync(path.join(LOG_DIR, `${key}-${app}.log`), p.lines.join('\n') + '\n');
    await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
    await Promise.all([...databases.values()].map((db) => db.drop().catch(() => undefined)));
  };
  stoppers.push(stop);
  for (const app of APPS) {
    const db = await createTestDatabase(`bench_${key.replace('-', '_')}_${app}`);
    databases.set(app, db);
    const pool = new Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined); // idle connections ended when the database is dropped
    pools.set(app, pool);
    ports.set(app, await freePort());
  }
  await Promise.all(
    APPS.map(async (app) => {
      const port = ports.get(app)!;
      const p = new NodeProcess({
        name: `${key}-${app}`,
        script: path.join(__dirname, 'peers', `${key}.ts`),
        env: {
          PEER_ROLE: app,
          DATABASE_URL: databases.get(app)!.url,
          KAFKA_BROKERS: brokers.join(','),
          TOPIC_PREFIX: prefix,
          PORT: String(port),
          NODE_OPTIONS: `--require ${COUNT_QUERIES}`,
          QUERY_COUNT_FILE: countFile(key, app),
        },
        ready: { kind: 'probe', what: `${key} ${app} answers /health`, probe: async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok },
      });
      processes.set(app, p);
      await p.start();
    }),
  );
  return {
    key,
    description:
      key === 'dual-write'
        ? 'bench/peers/dual-write.ts: plain pg + kafkajs, node:http, commit then send (idempotent producer, acks=-1), no outbox, no inbox; 3 partitions at once per consumer'
        : 'bench/peers/stock-nest.ts: Nest 11 + Express, ValidationPipe DTO, TypeORM save then ClientKafka.emit (awaited; idempotent producer, acks=-1), @EventPattern handlers on the Nest Kafka transport, no outbox, no inbox; 3 partitions at once per consumer',
    orderUrl: `http://127.0.0.1:${ports.get('order')!}`,
    sql: (app) => pools.get(app)!,
    databaseName: (app) => databases.get(app)!.name,
    pid: (app) => processes.get(app)!.pid,
    topics,
    hasOutbox: false,
    queryCountFile: (app) => countFile(key, app),
    stop: async () => {
      stoppers.splice(stoppers.indexOf(stop), 1);
      await stop();
    },
  };
}

/**
 * Ours: one instance of each app in the system started at the beginning (broker, databases, bundles);
 * a variant (ours-delivery) runs new instances with its setting on the same databases and consumer groups.
 */
async function startOurs(sys: System<AppProcess>, key: OursKey): Promise<Subject> {
  const variant = OURS_VARIANTS[key] ?? {};
  const instances = new Map<AppName, AppProcess>();
  // Node refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
  const nodeArgs = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profile, key)}`] : [];
  await Promise.all(
    APPS.map(async (app) => instances.set(app, await sys.addInstance(app, { env: { ...variant, QUERY_COUNT_FILE: countFile(key, app) }, nodeArgs }))),
  );
  const settings = Object.entries({ ...OURS_ENV, ...variant }).map(([k, v]) => `, ${k}=${v}`);
  return {
    key,
    description: `the apps (\`nest build\` bundles, one process each, started by startSystem), default settings except LOG_LEVEL=warn, LOG_FORMAT=json${settings.join('')}${opts.profile ? ', under node --cpu-prof (slower)' : ''}; transactional outbox, inbox, every guarantee on`,
    orderUrl: instances.get('order')!.url,
    sql: (app) => sys.sql(app),
    databaseName: (app) => new URL(sys.databaseUrl(app)).pathname.slice(1),
    pid: (app) => instances.get(app)!.pid,
    topics: EVENT_TYPES,
    hasOutbox: true,
    queryCountFile: (app) => countFile(key, app),
    stop: async () => {
      await Promise.all([...instances.values()].map((i) => i.stop()));
    },
  };
}

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
  total: number;
  /** Wall clock when sent (ms since the epoch), and performance.now() when sent and answered. */
  sentWall: number;
  sentAt: number;
  answeredAt: number;
  status: number;
  orderId?: string;
  error?: string;
  /** 503s with Retry-After this order got before its last answer (the client waited as told, then sent it again). */
  deferrals: number;
}

/** Longest a client keeps honouring Retry-After for one order before it gives up. */
const MAX_DEFERRAL_MS = 60_000;

/**
 * Posts an order as a well-behaved client does: a `503` with `Retry-After`
 * (the order app's admission control, ORDER_ADMISSION_MAX_PENDING) is waited
 * out and the same order sent again; its latency counts from the first
 * attempt.
 */
async function postOrder(url: string, planned: Planned): Promise<Sent> {
  const sentWall = Date.now();
  const sentAt = performance.now();
  for (let deferrals = 0; ; deferrals++) {
    const sent = await postOnce(url, planned, sentWall, sentAt, deferrals);
    if (sent.status !== 503 || sent.retryAfterMs === null || performance.now() - sentAt > MAX_DEFERRAL_MS) return sent;
    await sleep(sent.retryAfterMs);
  }
}

async function postOnce(url: string, planned: Planned, sentWall: number, sentAt: number, deferrals: number): Promise<Sent & { retryAfterMs: number | null }> {
  try {
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: planned.body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    const answeredAt = performance.now();
    const orderId = response.status === 201 ? (JSON.parse(text) as { id: string }).id : undefined;
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      total: planned.total,
      sentWall,
      sentAt,
      answeredAt,
      status: response.status,
      orderId,
      error: response.status === 201 ? undefined : text.slice(0, 200),
      deferrals,
      retryAfterMs: retryAfter > 0 ? retryAfter * 1000 : null,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      total: planned.total,
      sentWall,
      sentAt,
      answeredAt: performance.now(),
      status: 0,
      error: `${(error as Error).message}${cause ? `: ${cause.code ?? cause.message}` : ''}`,
      deferrals,
      retryAfterMs: null,
    };
  }
}

/** Closed loop: `count` orders with `concurrency` requests in flight. */
async function sendClosed(url: string, run: string, count: number, concurrency: number): Promise<Sent[]> {
  const sent: Sent[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) sent[i] = await postOrder(url, planOrder(run, i));
    }),
  );
  return sent;
}

/** Open loop: `rate` orders/s for `seconds`, each sent on schedule whether or not earlier ones were answered. */
async function sendOpen(url: string, run: string, rate: number, seconds: number) {
  const total = Math.max(1, Math.round(rate * seconds));
  const pending: Promise<Sent>[] = [];
  const start = performance.now();
  let inFlight = 0;
  let maxInFlight = 0;
  let next = 0;
  while (next < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (next < due) {
      const i = next++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(postOrder(url, planOrder(run, i)).finally(() => inFlight--));
    }
    await sleep(2);
  }
  const sendSeconds = (performance.now() - start) / 1000;
  return { sent: await Promise.all(pending), sentPerSecond: round(total / sendSeconds), maxInFlight };
}

// ---- resources: CPU, round trips, transactions --------------------------------------------------

interface ResourceSample {
  ticks: Record<string, number>;
  backends: Map<number, { app: AppName; ticks: number }>;
  queries: Record<AppName, number>;
  xacts: Record<AppName, number>;
}

/** A process's statement count, as its preload writes it every 100 ms: the first report written after this call. */
async function queryCount(file: string, pid: number | undefined): Promise<number> {
  if (!pid) return NaN;
  const asked = Date.now();
  const read = () => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as { queries: number; at: number };
    } catch {
      return { queries: NaN, at: 0 }; // not written yet, or caught halfway through a write
    }
  };
  const report = await eventually(read, { accept: (r) => r.at > asked, timeoutMs: 10_000, intervalMs: 25, what: `query count of ${file}` });
  return report.queries;
}

async function sample(subject: Subject): Promise<ResourceSample> {
  const names = APPS.map((app) => subject.databaseName(app));
  const pool = subject.sql('order');
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const activity = (await pool.query(`SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1)`, [names])).rows as { pid: number; datname: string }[];
  const stats = (await pool.query(`SELECT datname, xact_commit::float8 AS commits FROM pg_stat_database WHERE datname = ANY($1)`, [names])).rows as {
    datname: string;
    commits: number;
  }[];
  const appOf = (datname: string) => APPS.find((app) => subject.databaseName(app) === datname)!;
  const ticks: Record<string, number> = {};
  for (const app of APPS) ticks[app] = cpuTicks(subject.pid(app));
  ticks.broker = cpuTicks(system!.kafka.nodes[0].pid());
  ticks.bench = cpuTicks(process.pid);
  const queries = {} as Record<AppName, number>;
  for (const app of APPS) queries[app] = await queryCount(subject.queryCountFile(app), subject.pid(app));
  return {
    ticks,
    backends: new Map(activity.map((a) => [a.pid, { app: appOf(a.datname), ticks: cpuTicks(a.pid) }])),
    queries,
    xacts: Object.fromEntries(APPS.map((app) => [app, stats.find((s) => s.datname === subject.databaseName(app))?.commits ?? NaN])) as Record<AppName, number>,
  };
}

/** Per settled order: CPU-ms per process (and the PostgreSQL backends of each app's database), statements and transactions per app. */
function perOrder(before: ResourceSample, after: ResourceSample, orders: number) {
  const cpuMs: Record<string, number> = {};
  for (const k of Object.keys(before.ticks)) cpuMs[k] = round(((after.ticks[k] - before.ticks[k]) * (1000 / TICKS_PER_S)) / orders, 2);
  cpuMs.apps = round(
    APPS.reduce((n, app) => n + cpuMs[app], 0),
    2,
  );
  const pg: Record<string, number> = Object.fromEntries(APPS.map((app) => [app, 0]));
  for (const [pid, b] of after.backends) pg[b.app] += b.ticks - (before.backends.get(pid)?.ticks ?? 0);
  for (const app of APPS) cpuMs[`postgres:${app}`] = round((pg[app] * (1000 / TICKS_PER_S)) / orders, 2);
  cpuMs.postgres = round(
    APPS.reduce((n, app) => n + cpuMs[`postgres:${app}`], 0),
    2,
  );
  cpuMs.total = round(cpuMs.apps + cpuMs.broker + cpuMs.postgres, 2);
  const statements = Object.fromEntries(APPS.map((app) => [app, round((after.queries[app] - before.queries[app]) / orders, 2)]));
  const transactions = Object.fromEntries(APPS.map((app) => [app, round((after.xacts[app] - before.xacts[app]) / orders, 2)]));
  return { cpuMs, statements, transactions };
}

// ---- measuring a phase --------------------------------------------------------------------------

interface Outcome {
  id: string;
  status: string;
  total: number;
  createdMs: number;
  updatedMs: number;
}

/** Waits until every accepted order of a phase is settled and notified; then reads what happened to each. */
async function settle(subject: Subject, label: string, sent: Sent[]) {
  const accepted = sent.filter((s) => s.status === 201 && s.orderId);
  const ids = accepted.map((s) => s.orderId!);
  const pending = async () =>
    Number((await subject.sql('order').query(`SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`, [ids])).rows[0].n);
  await eventually(pending, {
    accept: (n) => n === 0,
    timeoutMs: SETTLE_TIMEOUT_MS,
    intervalMs: 200,
    what: `${subject.key} ${label}: all ${ids.length} orders settled`,
  });
  const expected = accepted.reduce((n, s) => n + (s.total > LIMIT ? 3 : 2), 0);
  const notified = async () =>
    Number(
      (await subject.sql('notification').query(`SELECT count(*) AS n FROM notifications WHERE order_id = ANY($1::uuid[]) AND channel = 'log'`, [ids])).rows[0]
        .n,
    );
  await eventually(notified, {
    accept: (n) => n >= expected,
    timeoutMs: SETTLE_TIMEOUT_MS,
    intervalMs: 200,
    what: `${subject.key} ${label}: all ${expected} notifications`,
  });
  const rows = (
    await subject
      .sql('order')
      .query(
        `SELECT id, status, total_amount::float8 AS total, extract(epoch FROM created_at) * 1000 AS created_ms, extract(epoch FROM updated_at) * 1000 AS updated_ms FROM orders WHERE id = ANY($1::uuid[])`,
        [ids],
      )
  ).rows.map((r: { id: string; status: string; total: number; created_ms: string; updated_ms: string }): Outcome => ({
    id: r.id,
    status: r.status,
    total: Number(r.total),
    createdMs: Number(r.created_ms),
    updatedMs: Number(r.updated_ms),
  }));
  const finals = (
    await subject
      .sql('notification')
      .query(
        `SELECT order_id, extract(epoch FROM created_at) * 1000 AS ms FROM notifications WHERE order_id = ANY($1::uuid[]) AND channel = 'log' AND event_type IN ('order.confirmed', 'order.cancelled')`,
        [ids],
      )
  ).rows as { order_id: string; ms: string }[];
  const payments = (
    await subject.sql('payment').query(`SELECT order_id, extract(epoch FROM created_at) * 1000 AS ms FROM payments WHERE order_id = ANY($1::uuid[])`, [ids])
  ).rows as {
    order_id: string;
    ms: string;
  }[];
  return {
    accepted,
    rows,
    finalNotifiedMs: new Map(finals.map((f) => [f.order_id, Number(f.ms)])),
    paymentMs: new Map(payments.map((p) => [p.order_id, Number(p.ms)])),
  };
}

/** Per-hop medians (and p99) from DB transaction start times and Kafka append times (LogAppendTime), per order. */
function hops(subject: Subject, settled: Awaited<ReturnType<typeof settle>>, recorder: TopicRecorder) {
  const appended = new Map<string, Record<string, number>>();
  for (const m of recorder.messages) {
    const key = m.key?.toString('utf8');
    if (!key) continue;
    const type = EVENT_TYPES[subject.topics.indexOf(m.topic)];
    const at = appended.get(key) ?? {};
    at[type.startsWith('payment.') ? 'payment' : type === Topics.OrderCreated ? 'created' : 'final'] = Number(m.timestamp);
    appended.set(key, at);
  }
  const sentWall = new Map(settled.accepted.map((s) => [s.orderId!, s.sentWall]));
  const steps: Record<string, number[]> = {
    'POST sent → order transaction': [],
    'order transaction → order.created appended': [],
    'order.created appended → payment transaction': [],
    'payment transaction → payment.* appended': [],
    'payment.* appended → order settle transaction': [],
    'settle transaction → order.confirmed/cancelled appended': [],
    'order.confirmed/cancelled appended → notification transaction': [],
  };
  const keys = Object.keys(steps);
  for (const r of settled.rows) {
    const a = appended.get(r.id);
    const paid = settled.paymentMs.get(r.id);
    const notified = settled.finalNotifiedMs.get(r.id);
    if (!a || paid === undefined || notified === undefined) continue;
    const points = [sentWall.get(r.id)!, r.createdMs, a.created, paid, a.payment, r.updatedMs, a.final, notified];
    for (let i = 0; i < keys.length; i++) steps[keys[i]].push(points[i + 1] - points[i]);
  }
  return Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, distribution(v)]));
}

/** The figures of one phase. */
function figures(settled: Awaited<ReturnType<typeof settle>>, before: ResourceSample, after: ResourceSample, sendEndWall: number) {
  const { accepted, rows } = settled;
  const firstSent = Math.min(...accepted.map((s) => s.sentWall));
  const lastSettled = Math.max(...rows.map((r) => r.updatedMs));
  const sendSeconds = (sendEndWall - firstSent) / 1000;
  const settledDuring = rows.filter((r) => r.updatedMs <= sendEndWall).length;
  const after_ = rows.length - settledDuring;
  const sentWall = new Map(accepted.map((s) => [s.orderId!, s.sentWall]));
  return {
    orders: accepted.length,
    refused: 0,
    postMs: distribution(accepted.map((s) => s.answeredAt - s.sentAt)),
    settledPerSecond: round(rows.length / ((lastSettled - firstSent) / 1000)),
    settleSeconds: round((lastSettled - firstSent) / 1000, 2),
    settledDuringSendingPerSecond: round(settledDuring / sendSeconds),
    drainAfterSendingPerSecond: after_ > 0 ? round(after_ / Math.max(0.001, (lastSettled - sendEndWall) / 1000)) : NaN,
    endToEndMs: distribution(rows.map((r) => (settled.finalNotifiedMs.get(r.id) ?? NaN) - sentWall.get(r.id)!)),
    createdToSettledMs: distribution(rows.map((r) => r.updatedMs - r.createdMs)),
    perOrder: perOrder(before, after, rows.length),
  };
}

async function phase(subject: Subject, label: string, send: () => Promise<Sent[]>, recorder?: TopicRecorder) {
  const before = await sample(subject);
  const sent = await send();
  const sendEndWall = Date.now();
  const refused = sent.filter((s) => !(s.status === 201 && s.orderId));
  const settled = await settle(subject, label, sent);
  const after = await sample(subject);
  const f = figures(settled, before, after, sendEndWall);
  const result = {
    ...f,
    refused: refused.length,
    /** 503s with Retry-After waited out before the order was taken (admission control). */
    deferrals: sent.reduce((n, s) => n + s.deferrals, 0),
    refusals: [...new Set(refused.map((s) => `${s.status} ${s.error ?? ''}`.trim()))].slice(0, 3),
    ...(recorder ? { hopsMs: hops(subject, settled, recorder) } : {}),
  };
  log(
    `  ${subject.key} ${label}: ${result.orders} orders, ${result.settledPerSecond} settled/s, POST → notified p50 ${result.endToEndMs.p50} p99 ${result.endToEndMs.p99} ms, ${result.perOrder.cpuMs.apps} CPU-ms/order (apps)`,
  );
  return { result, rows: settled.rows };
}

/** The cross-check of every order a subject took, against its three databases. */
async function crossCheck(subject: Subject, rows: Outcome[]) {
  const ids = rows.map((r) => r.id);
  const expected = (r: Outcome) => (r.total > LIMIT ? 'CANCELLED' : 'CONFIRMED');
  const payments = (await subject.sql('payment').query(`SELECT order_id, status, reason FROM payments WHERE order_id = ANY($1::uuid[])`, [ids])).rows as {
    order_id: string;
    status: string;
    reason: string | null;
  }[];
  const paymentsByOrder = new Map<string, { status: string; reason: string | null }[]>();
  for (const p of payments) paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
  const notifications = (
    await subject.sql('notification').query(`SELECT order_id, event_type FROM notifications WHERE order_id = ANY($1::uuid[]) AND channel = 'log'`, [ids])
  ).rows as {
    order_id: string;
    event_type: string;
  }[];
  const byOrder = new Map<string, string[]>();
  for (const n of notifications) byOrder.set(n.order_id, [...(byOrder.get(n.order_id) ?? []), n.event_type]);
  const outbox = async (app: AppName) => Number((await subject.sql(app).query('SELECT count(*) AS n FROM outbox')).rows[0].n);
  const outboxes = subject.hasOutbox
    ? await eventually(async () => ({ order: await outbox('order'), payment: await outbox('payment') }), {
        accept: (o) => o.order === 0 && o.payment === 0,
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'outboxes empty',
      }).catch(async () => ({ order: await outbox('order'), payment: await outbox('payment') }))
    : null;
  const check = {
    orders: rows.length,
    confirmed: rows.filter((r) => r.status === 'CONFIRMED').length,
    cancelled: rows.filter((r) => r.status === 'CANCELLED').length,
    wrongStatus: rows.filter((r) => r.status !== expected(r)).length,
    ordersWithoutExactlyOnePayment: rows.filter((r) => (paymentsByOrder.get(r.id) ?? []).length !== 1).length,
    wrongPaymentDecision: rows.filter((r) => {
      const p = paymentsByOrder.get(r.id)?.[0];
      return p && (r.total > LIMIT ? p.status !== 'DECLINED' || p.reason !== 'limit_exceeded' : p.status !== 'AUTHORIZED');
    }).length,
    ordersWithWrongNotifications: rows.filter((r) => {
      const want = (r.total > LIMIT ? ['order.cancelled', 'order.created', 'payment.failed'] : ['order.confirmed', 'order.created']).join(',');
      return (byOrder.get(r.id) ?? []).sort().join(',') !== want;
    }).length,
    outboxRowsLeft: outboxes,
  };
  const passed =
    check.wrongStatus === 0 &&
    check.ordersWithoutExactlyOnePayment === 0 &&
    check.wrongPaymentDecision === 0 &&
    check.ordersWithWrongNotifications === 0 &&
    (outboxes === null || (outboxes.order === 0 && outboxes.payment === 0));
  return { ...check, passed };
}

/** Every phase for one subject. */
async function runSubject(subject: Subject, runId: string) {
  const url = subject.orderUrl;
  const run = `${runId}-${subject.key}`;
  // A few orders end to end before anything is timed: connections, JIT, consumer groups joined.
  const warm = await sendClosed(url, `${run}-warm`, 30, 5);
  if (warm.some((s) => s.status !== 201)) throw new Error(`${subject.key}: warm-up orders refused: ${warm.find((s) => s.status !== 201)!.error}`);
  await settle(subject, 'warm-up', warm);

  const all: Outcome[] = [];
  const saturation = await phase(subject, 'saturation', () => sendClosed(url, `${run}-sat`, ORDERS, CONCURRENCY));
  all.push(...saturation.rows);
  const satRate = saturation.result.settledPerSecond;

  const recorder = await TopicRecorder.start(subject.topics, system!.brokers);
  const low = await phase(subject, `${LOW_RATE}/s`, async () => (await sendOpen(url, `${run}-low`, LOW_RATE, LOW_SECONDS)).sent, recorder);
  all.push(...low.rows);
  const halfRate = round(satRate / 2);
  const half = await phase(subject, `${halfRate}/s (50 %)`, async () => (await sendOpen(url, `${run}-half`, halfRate, HALF_SECONDS)).sent, recorder);
  all.push(...half.rows);
  await recorder.stop();

  const overRate = round(satRate * 2);
  let overSent = { sentPerSecond: NaN, maxInFlight: 0 };
  const over = await phase(subject, `${overRate}/s (2x)`, async () => {
    const o = await sendOpen(url, `${run}-over`, overRate, OVERLOAD_SECONDS);
    overSent = { sentPerSecond: o.sentPerSecond, maxInFlight: o.maxInFlight };
    return o.sent;
  });
  all.push(...over.rows);
  const check = await crossCheck(subject, all);
  log(`  ${subject.key} cross-check: ${check.passed ? 'passed' : 'FAILED'} (${JSON.stringify(check)})`);
  return {
    description: subject.description,
    saturation: { concurrency: CONCURRENCY, ...saturation.result },
    low: { rate: LOW_RATE, seconds: LOW_SECONDS, ...low.result },
    half: { rate: halfRate, seconds: HALF_SECONDS, ...half.result },
    overload: {
      rate: overRate,
      seconds: OVERLOAD_SECONDS,
      ...overSent,
      ...over.result,
      duringOverSaturation: round(over.result.settledDuringSendingPerSecond / satRate, 2),
      drainOverSaturation: round(over.result.drainAfterSendingPerSecond / satRate, 2),
    },
    check,
  };
}
type SubjectResult = Awaited<ReturnType<typeof runSubject>>;

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg()[0];
  const runId = `b${Date.now().toString(36)}`;
  log(
    `saga bench${QUICK ? ' (quick)' : ''}: ${ONLY.join(', ')}; ${ORDERS} orders at ${CONCURRENCY} in flight, ${LOW_RATE}/s for ${LOW_SECONDS} s, 50 % for ${HALF_SECONDS} s, 2x for ${OVERLOAD_SECONDS} s`,
  );
  await ensurePostgresRunning(`${TEST_POSTGRES_URL}/postgres`);

  // The broker, our databases and bundles (no instance yet): the peers run on the same broker first.
  const starting = startSystem({
    name: BROKER_NAME,
    kafka: privateBroker({ port: BROKER_PORT, partitions: PARTITIONS }),
    processes: { order: 0, payment: 0, notification: 0 },
    env: { LOG_LEVEL: 'warn', LOG_FORMAT: 'json', NODE_OPTIONS: `--require ${COUNT_QUERIES}`, ...OURS_ENV },
    logDir: LOG_DIR,
    signal: interrupt.signal,
  });
  setup = starting.catch(() => undefined);
  system = await starting;
  // Record timestamps become the broker's append times, what the per-hop breakdown reads.
  await alterTopicConfigs({ brokers: system.brokers, clientId: 'bench-saga-setup' }, EVENT_TYPES, { 'message.timestamp.type': 'LogAppendTime' });
  log(`  broker, databases and bundles ready`);

  const results: Partial<Record<SubjectKey, SubjectResult>> = {};
  for (const key of ONLY) {
    const t = performance.now();
    const subject = key === 'dual-write' || key === 'stock-nest' ? await startPeer(key, system.brokers) : await startOurs(system, key);
    log(`  ${key} ready in ${round((performance.now() - t) / 1000)} s`);
    try {
      results[key] = await runSubject(subject, runId);
    } finally {
      await subject.stop();
    }
  }

  const cpu = os.cpus();
  const result = {
    benchmark: 'saga',
    quick: QUICK,
    startedAt: started.toISOString(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0], 2) },
    },
    setup: {
      kafka: `${kafkaVersion()}, one local KRaft broker of the bench's own, replication factor 1, ${PARTITIONS} partitions per topic, message.timestamp.type=LogAppendTime`,
      postgres: 'the shared local PostgreSQL 15 server, synchronous_commit on; three throw-away databases per subject',
      load: `this process, fetch(); orders of two lines, one in ${ABOVE_LIMIT_EVERY} above the payment limit (${LIMIT / 100} EUR) and so declined`,
      note: "broker, PostgreSQL, the subject's three processes and this load generator share the CPUs; the subjects run one after the other, the others stopped",
    },
    subjects: results,
    ratios: ratios(results),
    method: {
      settledPerSecond: 'orders of the phase / (first POST sent → latest orders.updated_at among them)',
      endToEnd:
        'per order, POST sent (wall clock of this process) → created_at of the order.confirmed / order.cancelled notification (transaction start, DB clock, same machine)',
      hops: 'per order, from orders.created_at, payments.created_at, orders.updated_at, notifications.created_at (transaction start times, now()) and the Kafka append times of order.created, payment.*, order.confirmed/cancelled (LogAppendTime); a transaction start stands for its commit, so a hop ending at an append includes that transaction',
      cpuMs:
        "CPU time (utime + stime from /proc/<pid>/stat) over the phase (first POST → every notification recorded), divided by the phase's orders; postgres = the backends connected to the subject's databases (the bench's own pool included, not the server's background processes); broker = the JVM",
      statements: "statements sent by each process's pg client (bench/peers/count-queries.cjs preloaded into every process), per order; each is one round trip",
      transactions:
        "pg_stat_database.xact_commit of each database over the phase, per order (an autocommit statement counts as a transaction); includes the bench's own polling queries, a few per second",
      overload:
        'settled/s during the window = orders of the phase settled before the last POST was answered / window; drain = the rest / (last POST answered → last settlement)',
      client:
        'the load honours Retry-After: an order answered 503 with Retry-After (admission control, ours-admission) is sent again after the wait, up to 60 s; its latency counts from its first POST, and the waits are counted (deferrals)',
    },
  };

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `saga-${started.toISOString().slice(0, 10)}${QUICK ? '-quick' : ''}${opts.label ? `-${opts.label}` : ''}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(result);
  fs.writeFileSync(`${base}.md`, md);
  writeCharts(`${base}.json`);
  log('');
  log(md);
  log(`written to ${path.relative(process.cwd(), base)}.json and .md; logs in ${path.relative(process.cwd(), LOG_DIR)}/`);
  const failed = Object.entries(results).filter(([, r]) => !r.check.passed);
  if (failed.length) throw new Error(`cross-check failed for ${failed.map(([k]) => k).join(', ')}`);
}

function ratios(results: Partial<Record<SubjectKey, SubjectResult>>) {
  const out: Record<string, Record<string, number>> = {};
  const pairs = [
    ['ours', 'dual-write'],
    ['ours', 'stock-nest'],
    ['ours-delivery', 'dual-write'],
    ['ours-delivery', 'stock-nest'],
    ['ours-delivery', 'ours'],
    ['ours-admission', 'dual-write'],
    ['ours-admission', 'stock-nest'],
    ['ours-admission', 'ours'],
  ] as const;
  for (const [mine, peer] of pairs) {
    const ours = results[mine];
    const p = results[peer];
    if (!ours || !p) continue;
    out[`${mine}/${peer}`] = {
      saturationSettledPerSecond: round(ours.saturation.settledPerSecond / p.saturation.settledPerSecond, 2),
      lowRateEndToEndP50: round(ours.low.endToEndMs.p50 / p.low.endToEndMs.p50, 2),
      lowRateEndToEndP99: round(ours.low.endToEndMs.p99 / p.low.endToEndMs.p99, 2),
      halfEndToEndP99: round(ours.half.endToEndMs.p99 / p.half.endToEndMs.p99, 2),
      cpuMsPerOrderApps: round(ours.saturation.perOrder.cpuMs.apps / p.saturation.perOrder.cpuMs.apps, 2),
      cpuMsPerOrderTotal: round(ours.saturation.perOrder.cpuMs.total / p.saturation.perOrder.cpuMs.total, 2),
    };
  }
  return out;
}

function markdown(r: {
  quick: boolean;
  startedAt: string;
  machine: { cpus: number; cpuModel?: string; node: string; loadAverage1m: { atStart: number; atEnd: number } };
  setup: Record<string, string>;
  subjects: Partial<Record<SubjectKey, SubjectResult>>;
  ratios: Record<string, Record<string, number>>;
  method: Record<string, string>;
}): string {
  const keys = SUBJECTS.filter((k) => r.subjects[k]);
  const subjects = keys.map((k) => r.subjects[k]!);
  const row = (label: string, cell: (s: SubjectResult) => string) => `| ${label} | ${subjects.map(cell).join(' | ')} |`;
  const lat = (d: Distribution) => `${fmt(d.p50)} / ${fmt(d.p99)} / ${fmt(d.max)}`;
  const sum = (o: Record<string, number>) => APPS.reduce((n, app) => n + o[app], 0);
  const per = (o: Record<string, number>) => `${fmt(sum(o), 1)} (${APPS.map((a) => fmt(o[a], 1)).join(' + ')})`;
  const hopNames = Object.keys(subjects[0]?.low.hopsMs ?? {});
  const ratioRows = Object.entries(r.ratios).map(
    ([k, v]) =>
      `| ${k} | ${v.saturationSettledPerSecond} | ${v.lowRateEndToEndP50} / ${v.lowRateEndToEndP99} | ${v.halfEndToEndP99} | ${v.cpuMsPerOrderApps} | ${v.cpuMsPerOrderTotal} |`,
  );
  return [
    `# Saga benchmark${r.quick ? ' (quick run)' : ''}, ${r.startedAt}`,
    '',
    `${r.machine.cpus} CPUs (${r.machine.cpuModel ?? 'unknown'}), Node ${r.machine.node}, 1-minute load average ${r.machine.loadAverage1m.atStart} at start and ${r.machine.loadAverage1m.atEnd} at the end. ${r.setup.note}.`,
    `Kafka ${r.setup.kafka}. PostgreSQL: ${r.setup.postgres}. Load: ${r.setup.load}.`,
    '',
    ...keys.map((k) => `- **${k}**: ${r.subjects[k]!.description}.`),
    '',
    `| measure | ${keys.join(' | ')} |`,
    `| --- | ${keys.map(() => '---').join(' | ')} |`,
    row(
      'saturation: settled orders/s',
      (s) => `**${fmt(s.saturation.settledPerSecond)}** (${s.saturation.orders} orders, ${s.saturation.concurrency} in flight)`,
    ),
    row('saturation: POST p50 / p99 / max ms', (s) => lat(s.saturation.postMs)),
    row('saturation: POST → final notification p50 / p99 / max ms', (s) => lat(s.saturation.endToEndMs)),
    row(`${r.subjects[keys[0]]?.low.rate ?? 10} orders/s: POST → final notification p50 / p99 / max ms`, (s) => `**${lat(s.low.endToEndMs)}**`),
    ...hopNames.map((h) => row(`— hop: ${h}, p50 / p99 ms`, (s) => `${fmt(s.low.hopsMs?.[h].p50 ?? NaN)} / ${fmt(s.low.hopsMs?.[h].p99 ?? NaN)}`)),
    row('50 % of saturation: rate; POST → final notification p50 / p99 / max ms', (s) => `${s.half.rate}/s: **${lat(s.half.endToEndMs)}**`),
    row(
      '2× overload: rate sent; settled/s during (÷ saturation); drain/s after (÷ saturation)',
      (s) =>
        `${s.overload.sentPerSecond}/s for ${s.overload.seconds} s: ${fmt(s.overload.settledDuringSendingPerSecond)} (${s.overload.duringOverSaturation}); ${fmt(s.overload.drainAfterSendingPerSecond)} (${s.overload.drainOverSaturation})`,
    ),
    row('503 + Retry-After waited out: saturation; 2× overload', (s) => `${s.saturation.deferrals ?? 0}; ${s.overload.deferrals ?? 0}`),
    row('saturation: CPU-ms per order, apps (order + payment + notification)', (s) => `**${per(s.saturation.perOrder.cpuMs)}**`),
    row(
      'saturation: CPU-ms per order, broker; PostgreSQL backends; all',
      (s) => `${fmt(s.saturation.perOrder.cpuMs.broker, 1)}; ${fmt(s.saturation.perOrder.cpuMs.postgres, 1)}; ${fmt(s.saturation.perOrder.cpuMs.total, 1)}`,
    ),
    row('10 orders/s: CPU-ms per order, apps; all', (s) => `${fmt(s.low.perOrder.cpuMs.apps, 1)}; ${fmt(s.low.perOrder.cpuMs.total, 1)}`),
    row('saturation: statements (round trips) per order', (s) => per(s.saturation.perOrder.statements)),
    row('saturation: transactions per order', (s) => per(s.saturation.perOrder.transactions)),
    row(
      'cross-check (every order of every phase)',
      (s) =>
        `${s.check.passed ? 'passed' : '**FAILED**'}: ${s.check.orders} orders, ${s.check.wrongStatus} wrong status, ${s.check.ordersWithoutExactlyOnePayment} without exactly one payment, ${s.check.ordersWithWrongNotifications} with wrong notifications${s.check.outboxRowsLeft ? `, outbox rows left ${s.check.outboxRowsLeft.order} + ${s.check.outboxRowsLeft.payment}` : ''}`,
    ),
    '',
    ...(ratioRows.length
      ? [
          'Ratios (ours ÷ peer; above 1 is better for throughput, below 1 is better for latency and CPU):',
          '',
          '| ratio | saturation settled/s | 10/s end to end p50 / p99 | 50 % end to end p99 | CPU-ms per order, apps | CPU-ms per order, all |',
          '| --- | --- | --- | --- | --- | --- |',
          ...ratioRows,
          '',
        ]
      : []),
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
    log(`\n${signal}: stopping the apps, the peers, the broker and the databases…`);
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
