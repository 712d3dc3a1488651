import { AppName, Apps } from '@lib/events';
import { REPO_ROOT } from '@lib/infra';
import {
  AppProcess,
  buildBundle,
  eventually,
  freePort,
  PrivatePostgres,
  privateBroker,
  privateCluster,
  startPrivatePostgres,
  startSystem,
  System,
} from '@lib/testing';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { check, InvariantResult, quiescent, readiness, StatusSampler } from './checker';
import { describePlanned, FaultRecord, inflict, planSchedule, PlannedFault } from './faults';
import { OrderLoad, PlacedOrder } from './load';
import { ChaosNetwork } from './network';
import { ChaosOptions } from './options';

/** What one fault cost, as the client and the checker saw it. */
export interface FaultFigures extends FaultRecord {
  /** Seconds from the heal until every instance was ready and nothing acknowledged before the heal was PENDING (undefined: not within the deadline). */
  recoveryS?: number;
  /** POST attempts sent from the injection until the recovery: answered 5xx, not answered at all, and orders that failed both attempts. */
  attempts: number;
  errors5xx: number;
  noAnswer: number;
  ordersFailed: number;
  /** Longest time an order created during the fault waited to settle (created_at → updated_at), seconds. */
  maxSettleS?: number;
}

export interface RunResult {
  seed: number;
  cluster: boolean;
  instances: number;
  rate: number;
  schedule: string[];
  faults: FaultFigures[];
  load: { sent: number; acknowledged: number; ordersFailed: number; attempts: number; errors5xx: number; errors4xx: number; noAnswer: number; seconds: number };
  invariants: InvariantResult[];
  wire?: { messages: number; distinct: number; duplicates: number };
  /** Seconds from the last fault's heal to quiescence (undefined: not quiescent within --settle-timeout). */
  quiescenceS?: number;
  quiescence: string;
  passed: boolean;
  error?: string;
}

/** Builds the three bundles once for all runs of an invocation. */
export async function buildBundles(suite: string, reuse = false): Promise<Record<AppName, string>> {
  const bundles = {} as Record<AppName, string>;
  for (const app of Apps) {
    const built = join(REPO_ROOT, '.local', 'e2e-bundles', suite, app, 'main.js');
    bundles[app] = reuse && existsSync(built) ? built : await buildBundle(app, suite);
  }
  return bundles;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** One chaos run on a fresh system, with seed `seed`. */
export async function runChaos(options: ChaosOptions, seed: number, bundles: Record<AppName, string>): Promise<RunResult> {
  const { log } = options;
  const schedule = planSchedule(options.faults, seed, options.instances, options.hold);
  const result: RunResult = {
    seed,
    cluster: options.cluster,
    instances: options.instances,
    rate: options.rate,
    schedule: schedule.map(describePlanned),
    faults: [],
    load: { sent: 0, acknowledged: 0, ordersFailed: 0, attempts: 0, errors5xx: 0, errors4xx: 0, noAnswer: 0, seconds: 0 },
    invariants: [],
    quiescence: '',
    passed: false,
  };
  log(`run seed ${seed}: ${options.cluster ? 'three-node cluster' : 'single broker'}, ${options.instances} instances of each app, ${options.rate} orders/s`);
  log(`  schedule: ${result.schedule.join(' · ')}`);

  let postgres: PrivatePostgres | undefined;
  let network: ChaosNetwork | undefined;
  let system: System<AppProcess> | undefined;
  let load: OrderLoad | undefined;
  let sampler: StatusSampler | undefined;
  try {
    const postgresPort = await freePort();
    postgres = await startPrivatePostgres(`${options.name}-${seed}`, postgresPort);
    const nodePorts = options.cluster ? [0, 1, 2].map((i) => options.brokerPort + 2 * i) : [options.brokerPort];
    // Proxies only when a network cut is scheduled: every byte of every instance then flows through this process.
    const cuts = options.faults.some((f) => f === 'cut-db' || f === 'cut-kafka');
    const net = cuts ? await ChaosNetwork.plan(options.instances, nodePorts) : undefined;
    network = net;
    const kafka = options.cluster
      ? privateCluster({ basePort: options.brokerPort, nodes: 3, partitions: 6, extraProperties: net && ((id) => net.brokerProperties(id - 1)) })
      : privateBroker({ port: options.brokerPort, partitions: 6, extraProperties: net?.brokerProperties(0) });
    const t0 = Date.now();
    system = await startSystem({
      name: options.name,
      kafka,
      postgresUrl: `postgres://postgres@127.0.0.1:${postgresPort}`,
      processes: Object.fromEntries(Apps.map((app) => [app, { instances: 0, bundle: bundles[app] }])),
      env: { LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...options.appEnv },
      logDir: join(REPO_ROOT, '.local', 'logs', `${options.name}-${seed}`),
      readyTimeoutMs: 120_000,
    });
    const sys = system;
    // Names are taken in call order (order-1, order-2, …), so each instance gets the proxies planned for it.
    const starting: Promise<unknown>[] = [];
    for (const app of Apps)
      for (let index = 1; index <= options.instances; index++) {
        const env = net ? (await net.connect(app, index, postgresPort, new URL(sys.databaseUrl(app)).pathname.slice(1))).env : {};
        starting.push(sys.addInstance(app, { env }));
      }
    await Promise.all(starting);
    log(`  ${sys.instances().length} instances ready, ${options.cluster ? 'cluster' : 'broker'} and PostgreSQL up in ${seconds(Date.now() - t0)} s`);

    sampler = new StatusSampler(sys);
    sampler.start();
    const orderLoad = new OrderLoad(`s${seed}`, () => sys.instances('order').map((i) => i.url), options.rate, options.orders);
    load = orderLoad;
    const loadStart = Date.now();
    orderLoad.start();

    const ctx = { system: sys, network: net, postgres, cluster: options.cluster, instances: options.instances, log };
    const records: FaultRecord[] = [];
    for (const planned of schedule) {
      await delay(planned.gapS * 1000); // the schedule's gap
      const done = await inflict(planned, ctx);
      const recoveredAt = await recovery(sys, done.healedAt);
      const record: FaultRecord = { ...done, recoveredAt };
      records.push(record);
      log(
        `  ${describeRecord(planned)} → ${record.target}: held ${seconds(record.healedAt - record.injectedAt)} s, ` +
          `${recoveredAt ? `recovered ${seconds(recoveredAt - record.healedAt)} s after` : 'NOT recovered within 120 s'}${record.error ? ` (error: ${record.error})` : ''}`,
      );
    }
    const lastHeal = Math.max(loadStart, ...records.map((r) => r.healedAt));
    const remaining = loadStart + options.duration * 1000 - Date.now();
    if (remaining > 0) await delay(remaining); // the load's duration
    await orderLoad.stop();
    result.load = loadFigures(orderLoad.orders, Date.now() - loadStart);
    log(`  load: ${result.load.sent} orders sent, ${result.load.acknowledged} acknowledged, ${result.load.ordersFailed} failed twice; waiting for quiescence`);

    let last = '';
    const quiet = await eventually(
      async () => {
        const state = await quiescent(sys).catch((e: Error) => ({ ok: false, what: e.message }));
        last = state.what;
        return state.ok;
      },
      { timeoutMs: options.settleTimeout * 1000, intervalMs: 500, what: 'quiescence' },
    ).catch(() => false);
    result.quiescence = last;
    if (quiet) result.quiescenceS = seconds(Date.now() - lastHeal);
    log(`  ${quiet ? `quiescent ${result.quiescenceS} s after the last fault` : `NOT quiescent within ${options.settleTimeout} s: ${last}`}`);

    await sampler.stop();
    const checked = await check(sys, orderLoad.orders, sampler);
    result.invariants = checked.invariants;
    result.wire = checked.wire;
    result.faults = await faultFigures(sys, records, orderLoad.orders);
    result.passed = quiet && checked.invariants.every((i) => i.ok) && records.every((r) => !r.error);
  } catch (error) {
    result.error = (error as Error).stack ?? String(error);
    log(`  run failed: ${(error as Error).message}`);
  } finally {
    await load?.stop().catch(() => undefined);
    await sampler?.stop().catch(() => undefined);
    if (system && !result.passed) {
      const ready = await readiness(system).catch(() => []);
      log(`  readiness at the end: ${ready.map((r) => `${r.name} ${r.ready ? 'ready' : 'NOT ready'}`).join(', ')}`);
    }
    await system?.stop().catch((e: Error) => log(`  could not release the system: ${e.message}`));
    await network?.stop().catch(() => undefined);
    await postgres?.destroy().catch(() => undefined);
  }
  return result;
}

function describeRecord(p: PlannedFault): string {
  return p.fault;
}

/** When, after `healedAt`, every instance is ready and no order acknowledged before it is still PENDING (bounded: 120 s). */
async function recovery(system: System<AppProcess>, healedAt: number): Promise<number | undefined> {
  try {
    await eventually(
      async () => {
        const ready = await readiness(system);
        if (!ready.every((r) => r.ready)) return false;
        const { rows } = await system
          .sql('order')
          .query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE status = 'PENDING' AND created_at <= to_timestamp($1 / 1000.0)`, [healedAt]);
        return Number(rows[0].n) === 0;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'recovered' },
    );
    return Date.now();
  } catch {
    return undefined;
  }
}

const isError = (status: number) => status === 0 || status >= 500;

function loadFigures(orders: PlacedOrder[], ms: number): RunResult['load'] {
  const attempts = orders.flatMap((o) => o.attempts);
  return {
    sent: orders.length,
    acknowledged: orders.filter((o) => o.orderId).length,
    ordersFailed: orders.filter((o) => !o.orderId).length,
    attempts: attempts.length,
    errors5xx: attempts.filter((a) => a.status >= 500).length,
    errors4xx: attempts.filter((a) => a.status >= 400 && a.status < 500).length,
    noAnswer: attempts.filter((a) => a.status === 0).length,
    seconds: seconds(ms),
  };
}

async function faultFigures(system: System<AppProcess>, records: FaultRecord[], orders: PlacedOrder[]): Promise<FaultFigures[]> {
  return Promise.all(
    records.map(async (r) => {
      const end = r.recoveredAt ?? r.healedAt + 120_000;
      const inWindow = orders.filter((o) => o.attempts[0] && o.attempts[0].sentAt >= r.injectedAt && o.attempts[0].sentAt <= end);
      const attempts = orders.flatMap((o) => o.attempts).filter((a) => a.sentAt >= r.injectedAt && a.sentAt <= end);
      const { rows } = await system
        .sql('order')
        .query<{ s: string | null }>(
          `SELECT max(extract(epoch FROM updated_at - created_at)) AS s FROM orders WHERE created_at BETWEEN to_timestamp($1 / 1000.0) AND to_timestamp($2 / 1000.0)`,
          [r.injectedAt, end],
        );
      return {
        ...r,
        recoveryS: r.recoveredAt ? seconds(r.recoveredAt - r.healedAt) : undefined,
        attempts: attempts.length,
        errors5xx: attempts.filter((a) => a.status >= 500).length,
        noAnswer: attempts.filter((a) => a.status === 0).length,
        ordersFailed: inWindow.filter((o) => !o.orderId && o.attempts.every((a) => isError(a.status))).length,
        maxSettleS: rows[0].s === null ? undefined : Math.round(Number(rows[0].s) * 10) / 10,
      };
    }),
  );
}
