/**
 * npm run bench:outbox — what the transactional outbox costs, from one run on
 * one broker (issue 3, "Done when" 7):
 *
 * (a) relay drain rate: 100,000 committed outbox rows, one OutboxRelay, from
 *     start() until the table is empty (read, send, broker ack, delete);
 * (b) the same 100,000 messages (same keys, values, headers, batch size) sent
 *     straight through DurableProducer, batch after batch: the ceiling the
 *     relay is measured against. (a) and (b) alternate three times
 *     (BENCH_DRAIN_ROUNDS); the figures are the medians, and the ratio of each
 *     round is printed too;
 * (c) commit → broker-ack latency of the relay at a fixed 1,000 events/s for
 *     20 s. Commit time: when COMMIT returned to the writer. Ack time: when the
 *     producer's send() resolved for the batch holding the event (acks=-1,
 *     i.e. written by every in-sync replica), taken by a wrapper around the
 *     publisher. Both from the same process clock (performance.now()).
 * (d) the price of the NOTIFY trigger on ingest: single-row transactions per
 *     second with and without it.
 *
 * Uses a throw-away database and topics of its own on the main broker
 * (localhost:9092 or KAFKA_BROKERS). Prints a table and writes
 * bench/results/outbox-<date>.json and .md. Stops by itself.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { infraUp, kafkaBrokers, parseCommandLine } from '@lib/infra';
import { eventHeaders } from '@lib/events';
import { DurableProducer, ensureTopics, OutgoingMessage } from '@lib/kafka';
import { CreateOutbox1732250000000, OutboxRelayLease1732250000002, OutboxObserver, OutboxPublisher, OutboxRelay } from '@lib/outbox';
import { createTestDatabase, eventually, orderCreated, uniqueName } from '@lib/testing';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { writeCharts } from './charts';

const USAGE = `usage: npm run bench:outbox

What the transactional outbox costs, on the main broker (localhost:9092 or KAFKA_BROKERS) and a throw-away
database: relay drain rate, the raw producer ceiling, commit → ack latency at a fixed rate, and the NOTIFY
trigger's price. Writes bench/results/outbox-<date>.json, .md and SVG charts (npm run bench:charts).

  --profile DIR    write a CPU profile of this process during the relay drain (a) to DIR/relay-drain.cpuprofile
                   (summarize: npx ts-node bench/profile-summary.ts DIR); the drain figure is then slower

environment (or .env): BENCH_BACKLOG (default 100000), BENCH_BATCH_SIZE (500), BENCH_RATE (1000 events/s),
BENCH_LATENCY_SECONDS (20), BENCH_DRAIN_ROUNDS (3: drains and raw sends alternated), KAFKA_BROKERS`;

const { values: opts } = parseCommandLine({ usage: USAGE, options: { profile: { type: 'string' } } });

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 500);
const ORDERS = 1_000; // keys
const RATE_PER_S = Number(process.env.BENCH_RATE ?? 1_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const DRAIN_ROUNDS = Number(process.env.BENCH_DRAIN_ROUNDS ?? 3);
const NOTIFY_SECONDS = 4;
const NOTIFY_ROUNDS = 3;
const WRITER_CONNECTIONS = 8;
const PARTITIONS = 6;
const BROKERS = kafkaBrokers();

interface Row {
  eventId: string;
  key: string;
  payload: string;
  headers: string;
}

/** An order.created event as the order app writes it (about 420 bytes of JSON). */
function makeRow(i: number): Row {
  const orderId = orderIds[i % ORDERS];
  const event = orderCreated(
    {
      orderId,
      customerId: `cust-${i % 997}`,
      currency: 'EUR',
      items: [
        { sku: 'TSHIRT-M-BLACK', quantity: 2, unitPrice: 1250 },
        { sku: 'MUG-350ML', quantity: 1, unitPrice: 899 },
      ],
      totalAmount: 3399,
    },
    { correlationId: orderId },
  );
  return { eventId: event.id, key: orderId, payload: JSON.stringify(event), headers: JSON.stringify(eventHeaders(event)) };
}
const orderIds = Array.from({ length: ORDERS }, () => randomUUID());

/** Another event like `row` (new id), without the cost of validating it again. */
function copyWithNewId(row: Row): Row {
  const eventId = randomUUID();
  return { ...row, eventId, payload: row.payload.replace(row.eventId, eventId), headers: row.headers.replace(row.eventId, eventId) };
}

/** The INSERT OutboxWriter issues, with the bench's topic instead of the shared `order.created`. */
function insertSql(count: number): string {
  const tuples = Array.from({ length: count }, (_, i) => {
    const p = i * 5;
    return `($${p + 1}, 'order.created', $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`;
  });
  return `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, headers) VALUES ${tuples.join(', ')}`;
}
function insertParams(topic: string, rows: readonly Row[]): unknown[] {
  return rows.flatMap((r) => [r.eventId, topic, r.key, r.payload, r.headers]);
}

/** Counts acknowledged messages and remembers when each was acknowledged. */
class AckClock implements OutboxPublisher {
  acked = 0;
  lastAckAt = 0;
  readonly ackAt = new Map<string, number>();
  track = false;
  constructor(private readonly inner: OutboxPublisher) {}
  async send(messages: readonly OutgoingMessage[]): Promise<unknown> {
    const result = await this.inner.send(messages);
    const now = performance.now();
    this.acked += messages.length;
    this.lastAckAt = now;
    if (this.track) for (const m of messages) this.ackAt.set(m.headers!['event-id'], now);
    return result;
  }
}

/** The V8 profiler of this process (node:inspector), for one phase of the bench. */
class CpuProfiler {
  private constructor(private readonly session: inspector.Session) {}
  static async start(): Promise<CpuProfiler> {
    const session = new inspector.Session();
    session.connect();
    const post = promisify(session.post.bind(session)) as (method: string, params?: object) => Promise<unknown>;
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return new CpuProfiler(session);
  }
  /** Stops, writes the profile to `file` and returns its absolute path. */
  async stopTo(file: string): Promise<string> {
    const post = promisify(this.session.post.bind(this.session)) as (method: string) => Promise<{ profile: unknown }>;
    const { profile } = await post('Profiler.stop');
    this.session.disconnect();
    const target = path.resolve(file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, JSON.stringify(profile));
    return target;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg()[0];
  await infraUp({ log: () => undefined });
  const db = await createTestDatabase('bench_outbox');
  const migrations = new DataSource({
    type: 'postgres',
    url: db.url,
    migrations: [CreateOutbox1732250000000, OutboxRelayLease1732250000002],
    migrationsRun: true,
  });
  await migrations.initialize();
  await migrations.destroy();
  const pool = new Pool({ connectionString: db.url, max: WRITER_CONNECTIONS });
  // Dropping the database at the end terminates whatever session is still open (57P01); an 'error'
  // event without a listener would crash the run after its results are written.
  pool.on('error', () => undefined);
  const run = uniqueName('bench');
  const topics = { warmup: `${run}.warmup`, relay: `${run}.relay`, raw: `${run}.raw`, latency: `${run}.latency` };
  await ensureTopics({ brokers: BROKERS, clientId: run }, Object.values(topics), { partitions: PARTITIONS, replicationFactor: 1 });

  const relayProducer = new DurableProducer({ brokers: BROKERS, clientId: `${run}-relay` });
  const rawProducer = new DurableProducer({ brokers: BROKERS, clientId: `${run}-raw` });
  const clock = new AckClock(relayProducer);
  // What the apps' metrics see (row insert → ack per published row), recorded as the relay reports it.
  const insertToAckSamples: number[] = [];
  const observer: OutboxObserver = { onPublished: (latenciesMs) => void insertToAckSamples.push(...latenciesMs), onParked: () => undefined };
  const relay = new OutboxRelay({ connectionString: db.url, publisher: clock, batchSize: BATCH_SIZE, pollIntervalMs: 1000, observer });
  const cleanup = async () => {
    await relay.stop().catch(() => undefined);
    await relayProducer.disconnect();
    await rawProducer.disconnect();
    await pool.end().catch(() => undefined);
    await db.drop().catch(() => undefined);
  };

  try {
    log(`outbox bench: backlog ${BACKLOG}, batch ${BATCH_SIZE}, ${ORDERS} keys, ${PARTITIONS} partitions, broker ${BROKERS.join(',')}`);
    let t = performance.now();
    const rows = Array.from({ length: BACKLOG }, (_, i) => makeRow(i));
    const bytes = rows.reduce((n, r) => n + Buffer.byteLength(r.payload), 0);
    log(`  built ${BACKLOG} events (${Math.round(bytes / BACKLOG)} B each) in ${round((performance.now() - t) / 1000)} s`);

    // Both producers connected and the broker warm before anything is timed.
    await relayProducer.connect();
    await rawProducer.connect();
    const toMessage =
      (topic: string) =>
      (r: Row): OutgoingMessage => ({ topic, key: r.key, value: r.payload, headers: JSON.parse(r.headers) });
    const warmup = rows.slice(0, 10_000).map(toMessage(topics.warmup));
    for (let i = 0; i < warmup.length; i += BATCH_SIZE) {
      await relayProducer.send(warmup.slice(i, i + BATCH_SIZE));
      await rawProducer.send(warmup.slice(i, i + BATCH_SIZE));
    }

    // (a) relay drain rate and (b) the same messages straight through the producer, alternated
    // DRAIN_ROUNDS times: on a 2-core machine one run of each alone is noisy. The figures are the medians.
    const rawMessages = rows.map(toMessage(topics.raw));
    const drains: { drainMs: number; lastAckMs: number; rawMs: number }[] = [];
    for (let n = 1; n <= DRAIN_ROUNDS; n++) {
      t = performance.now();
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        await pool.query(insertSql(chunk.length), insertParams(topics.relay, chunk));
      }
      await pool.query('VACUUM ANALYZE outbox');
      log(`  round ${n}/${DRAIN_ROUNDS}: wrote the backlog in ${round((performance.now() - t) / 1000)} s`);
      const ackedBefore = clock.acked;
      const profiler = opts.profile && n === 1 ? { dir: opts.profile, session: await CpuProfiler.start() } : null;
      const drainStart = performance.now();
      relay.start();
      const probe = new Client({ connectionString: db.url });
      probe.on('error', () => undefined);
      await probe.connect();
      try {
        // Watched in-process until the broker has acknowledged every row, then in the database until the
        // last delete: a count(*) of the table every few ms would take CPU from the PostgreSQL being measured.
        await eventually(() => clock.acked - ackedBefore, { timeoutMs: 600_000, intervalMs: 5, accept: (a) => a >= BACKLOG, what: 'backlog acknowledged' });
        await eventually(async () => (await probe.query('SELECT EXISTS (SELECT 1 FROM outbox) AS any')).rows[0].any as boolean, {
          timeoutMs: 60_000,
          intervalMs: 5,
          accept: (any) => !any,
          what: 'backlog drained',
        });
      } finally {
        await probe.end().catch(() => undefined);
      }
      const drainMs = performance.now() - drainStart;
      if (profiler) log(`  CPU profile of the drain: ${await profiler.session.stopTo(path.join(profiler.dir, 'relay-drain.cpuprofile'))}`);
      const lastAckMs = clock.lastAckAt - drainStart;
      if (clock.acked - ackedBefore !== BACKLOG) throw new Error(`relay acknowledged ${clock.acked - ackedBefore} of ${BACKLOG}`);
      // Stopped while the next backlog is written: it would start draining at the first commit.
      if (n < DRAIN_ROUNDS) await relay.stop();
      log(`  (a) relay drained ${BACKLOG} in ${round(drainMs / 1000, 2)} s: ${Math.round(BACKLOG / (drainMs / 1000))} events/s`);

      const rawStart = performance.now();
      for (let i = 0; i < rawMessages.length; i += BATCH_SIZE) await rawProducer.send(rawMessages.slice(i, i + BATCH_SIZE));
      const rawMs = performance.now() - rawStart;
      log(`  (b) DurableProducer sent ${BACKLOG} in ${round(rawMs / 1000, 2)} s: ${Math.round(BACKLOG / (rawMs / 1000))} events/s`);
      drains.push({ drainMs, lastAckMs, rawMs });
    }
    const median = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const drainMs = median(drains.map((d) => d.drainMs));
    const rawMs = median(drains.map((d) => d.rawMs));
    const relayRate = BACKLOG / (drainMs / 1000);
    const rawRate = BACKLOG / (rawMs / 1000);
    const ratios = drains.map((d) => round(d.rawMs / d.drainMs, 2));
    log(`  relay / raw: ${round(relayRate / rawRate, 2)} (medians of ${DRAIN_ROUNDS} alternated rounds; per round ${ratios.join(', ')})`);

    // (c) commit → ack latency at a fixed rate, one event per transaction
    const latencyRows = Array.from({ length: RATE_PER_S * LATENCY_SECONDS }, (_, i) => makeRow(i));
    const committedAt = new Map<string, number>();
    clock.track = true;
    let next = 0;
    let lateTicks = 0;
    const latencyStart = performance.now();
    const inFlight = new Set<Promise<void>>();
    const writeOne = async (row: Row) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(insertSql(1), insertParams(topics.latency, [row]));
        await c.query('COMMIT');
        committedAt.set(row.eventId, performance.now());
      } finally {
        c.release();
      }
    };
    while (next < latencyRows.length) {
      const due = Math.min(latencyRows.length, Math.floor(((performance.now() - latencyStart) / 1000) * RATE_PER_S));
      if (due - next > RATE_PER_S / 10) lateTicks++;
      while (next < due) {
        const p = writeOne(latencyRows[next++]).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
    const writeSeconds = (performance.now() - latencyStart) / 1000;
    await eventually(() => latencyRows.every((r) => clock.ackAt.has(r.eventId)), { timeoutMs: 60_000, what: 'every latency event acknowledged' });
    const latencies = latencyRows.map((r) => clock.ackAt.get(r.eventId)! - committedAt.get(r.eventId)!).sort((a, b) => a - b);
    // The observer's samples of this phase: the last ones it was told about.
    const insertToAck = insertToAckSamples.slice(-latencyRows.length).sort((a, b) => a - b);
    const achievedRate = latencyRows.length / writeSeconds;
    log(
      `  (c) ${latencyRows.length} events at ${Math.round(achievedRate)}/s: commit→ack p50 ${round(percentile(latencies, 50))} ms, ` +
        `p99 ${round(percentile(latencies, 99))} ms, max ${round(latencies[latencies.length - 1])} ms (writer behind schedule in ${lateTicks} ticks)`,
    );

    // (d) what the NOTIFY trigger costs the writers (relay stopped, table emptied in between)
    await relay.stop();
    const template = makeRow(0);
    const ingest = async (label: string): Promise<number> => {
      await pool.query('TRUNCATE outbox');
      const end = performance.now() + NOTIFY_SECONDS * 1000;
      let n = 0;
      await Promise.all(
        Array.from({ length: WRITER_CONNECTIONS }, async () => {
          while (performance.now() < end) {
            n++;
            await writeOne(copyWithNewId(template));
          }
        }),
      );
      const rate = n / NOTIFY_SECONDS;
      log(`  (d) ${label}: ${Math.round(rate)} single-event transactions/s (${WRITER_CONNECTIONS} connections)`);
      return rate;
    };
    // Alternated and repeated: on a 2-core machine one run alone is noisy.
    const withRuns: number[] = [];
    const withoutRuns: number[] = [];
    for (let i = 0; i < NOTIFY_ROUNDS; i++) {
      await pool.query('ALTER TABLE outbox ENABLE TRIGGER outbox_notify');
      withRuns.push(await ingest('with the NOTIFY trigger'));
      await pool.query('ALTER TABLE outbox DISABLE TRIGGER outbox_notify');
      withoutRuns.push(await ingest('without it'));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const withNotify = mean(withRuns);
    const withoutNotify = mean(withoutRuns);

    const result = {
      benchmark: 'outbox',
      startedAt: started.toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGb: round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0], 2) },
      },
      setup: {
        broker: BROKERS.join(','),
        brokerNote: 'single local KRaft broker (Kafka 3.9.1), replication factor 1, acks=-1, idempotent producer, 1 request in flight',
        partitions: PARTITIONS,
        keys: ORDERS,
        batchSize: BATCH_SIZE,
        eventBytes: Math.round(bytes / BACKLOG),
      },
      relayDrain: {
        events: BACKLOG,
        seconds: round(drainMs / 1000, 2),
        eventsPerSecond: Math.round(relayRate),
        rounds: drains.map((d) => ({ drainSeconds: round(d.drainMs / 1000, 2), lastAckSeconds: round(d.lastAckMs / 1000, 2) })),
        note: `median of ${DRAIN_ROUNDS} rounds, each from relay.start() until the outbox table is empty: leader election, read, send, broker ack, delete`,
      },
      rawProducer: {
        events: BACKLOG,
        seconds: round(rawMs / 1000, 2),
        eventsPerSecond: Math.round(rawRate),
        rounds: drains.map((d) => round(d.rawMs / 1000, 2)),
        note: `median of ${DRAIN_ROUNDS} rounds, each right after a relay round: same messages and batch size through DurableProducer.send(), one batch after the other`,
      },
      relayToRawRatio: round(relayRate / rawRate, 2),
      relayToRawRatioPerRound: ratios,
      latency: {
        targetEventsPerSecond: RATE_PER_S,
        achievedEventsPerSecond: Math.round(achievedRate),
        seconds: round(writeSeconds, 1),
        events: latencies.length,
        writerFellBehindTicks: lateTicks,
        commitToAckMs: {
          p50: round(percentile(latencies, 50)),
          p90: round(percentile(latencies, 90)),
          p99: round(percentile(latencies, 99)),
          max: round(latencies[latencies.length - 1]),
        },
        relayInsertToAckMs: { p50: round(percentile(insertToAck, 50)), p99: round(percentile(insertToAck, 99)), samples: insertToAck.length },
        method:
          "commit = when COMMIT returned to the writer (one event per transaction); ack = when DurableProducer.send() resolved for the batch holding the event; same process clock. relayInsertToAckMs is what the relay reports to its observer (the apps' outbox_publish_latency_seconds) (row created_at, DB clock, to ack).",
      },
      notifyCostOnIngest: {
        transactionsPerSecondWithNotify: Math.round(withNotify),
        transactionsPerSecondWithoutNotify: Math.round(withoutNotify),
        connections: WRITER_CONNECTIONS,
        runs: { withNotify: withRuns.map(Math.round), withoutNotify: withoutRuns.map(Math.round), secondsEach: NOTIFY_SECONDS },
        note: 'relay stopped (nobody listening), table truncated before each run, one INSERT per transaction',
      },
    };

    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const base = path.join(dir, `outbox-${started.toISOString().slice(0, 10)}`);
    fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    fs.writeFileSync(`${base}.md`, markdown(result));
    writeCharts(`${base}.json`);
    log('');
    log(markdown(result));
    log(`written to ${path.relative(process.cwd(), base)}.json and .md`);
  } finally {
    await cleanup();
  }
}

function markdown(r: {
  startedAt: string;
  machine: { cpus: number; cpuModel?: string; node: string; loadAverage1m: { atStart: number; atEnd: number } };
  setup: { batchSize: number; partitions: number; keys: number; eventBytes: number; brokerNote: string };
  relayDrain: { events: number; seconds: number; eventsPerSecond: number };
  rawProducer: { seconds: number; eventsPerSecond: number };
  relayToRawRatio: number;
  relayToRawRatioPerRound: number[];
  latency: {
    targetEventsPerSecond: number;
    achievedEventsPerSecond: number;
    events: number;
    commitToAckMs: { p50: number; p90: number; p99: number; max: number };
    relayInsertToAckMs: { p50: number; p99: number };
    method: string;
  };
  notifyCostOnIngest: { transactionsPerSecondWithNotify: number; transactionsPerSecondWithoutNotify: number; connections: number };
}): string {
  return [
    `# Outbox benchmark, ${r.startedAt}`,
    '',
    `${r.machine.cpus} CPUs (${r.machine.cpuModel ?? 'unknown'}), Node ${r.machine.node}, 1-minute load average ${r.machine.loadAverage1m.atStart} at start and ${r.machine.loadAverage1m.atEnd} at the end (broker, PostgreSQL and this process share the CPUs); ${r.setup.brokerNote}.`,
    `${r.setup.partitions} partitions, ${r.setup.keys} keys, batches of ${r.setup.batchSize}, ${r.setup.eventBytes}-byte order.created envelopes.`,
    '',
    '| measure | result |',
    '| --- | --- |',
    `| (a) relay drains a ${r.relayDrain.events.toLocaleString('en')}-event backlog (median of ${r.relayToRawRatioPerRound.length} rounds) | ${r.relayDrain.eventsPerSecond.toLocaleString('en')} events/s (${r.relayDrain.seconds} s) |`,
    `| (b) DurableProducer, same messages and batch size (median, rounds alternated with (a)) | ${r.rawProducer.eventsPerSecond.toLocaleString('en')} events/s (${r.rawProducer.seconds} s) |`,
    `| relay / raw | ${r.relayToRawRatio} (per round ${r.relayToRawRatioPerRound.join(', ')}) |`,
    `| (c) commit → broker ack at ${r.latency.achievedEventsPerSecond} events/s (target ${r.latency.targetEventsPerSecond}), ${r.latency.events.toLocaleString('en')} events | p50 ${r.latency.commitToAckMs.p50} ms, p90 ${r.latency.commitToAckMs.p90} ms, p99 ${r.latency.commitToAckMs.p99} ms, max ${r.latency.commitToAckMs.max} ms |`,
    `| relay's own insert → ack figure, same events | p50 ${r.latency.relayInsertToAckMs.p50} ms, p99 ${r.latency.relayInsertToAckMs.p99} ms |`,
    `| (d) single-event transactions/s, ${r.notifyCostOnIngest.connections} connections, with / without the NOTIFY trigger (mean of 3 alternating runs) | ${r.notifyCostOnIngest.transactionsPerSecondWithNotify} / ${r.notifyCostOnIngest.transactionsPerSecondWithoutNotify} |`,
    '',
    `Latency method: ${r.latency.method}`,
    '',
  ].join('\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
