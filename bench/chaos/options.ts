import { parseArgs } from 'node:util';
import { parseEnvAssignments } from '../env-assignments';

/** The faults a chaos run can inflict, each selectable with `--faults`. */
export const FAULTS = [
  'kill-instances',
  'pause-instance',
  'term-app',
  'kill-broker',
  'kill-leader',
  'pause-broker',
  'restart-postgres',
  'terminate-backends',
  'cut-db',
  'cut-kafka',
] as const;
export type FaultName = (typeof FAULTS)[number];

export const FAULT_HELP: Record<FaultName, string> = {
  'kill-instances': 'SIGKILL one instance of each app, start them again',
  'pause-instance': 'SIGSTOP one instance past the group session timeout, then SIGCONT (a zombie with stale partitions)',
  'term-app': 'SIGTERM every instance of one app at once, start them again',
  'kill-broker': 'SIGKILL the broker (single) or one broker (cluster), start it again',
  'kill-leader': 'cluster: SIGKILL the leader of an order.created partition, then the active controller, start them again (single: as kill-broker)',
  'pause-broker': 'SIGSTOP a broker, SIGCONT it after the hold',
  'restart-postgres': "restart the run's own PostgreSQL server (pg_ctl stop -m fast, start)",
  'terminate-backends': "pg_terminate_backend of every connection of one app's database",
  'cut-db': 'silent network cut (bytes dropped, no reset) between one instance and PostgreSQL, through its proxy',
  'cut-kafka': 'silent network cut between one instance and Kafka, through its proxies',
};

export interface ChaosOptions {
  /** Runs, each on a fresh system; run r uses seed `seed + r`. */
  runs: number;
  seed: number;
  faults: FaultName[];
  /** A three-node cluster instead of a single broker. */
  cluster: boolean;
  /** Instances of each app. */
  instances: number;
  /** Orders per second, open loop. */
  rate: number;
  /** Seconds of load at least; the load goes on until the last fault has been recovered from. */
  duration: number;
  /** Upper bound on the orders of a run (default: rate × duration, plus what the faults need). */
  orders?: number;
  /** How long a fault is held (SIGSTOP, cut, broker down), seconds. */
  hold: number;
  /** Seconds the checker waits for quiescence after the load. */
  settleTimeout: number;
  /** Where results go (default bench/results), or false for none (the e2e suite). */
  resultsDir: string | false;
  /** Name of the system (broker files, databases, logs). */
  name: string;
  /** First client port of the broker (cluster: node i at basePort + 2(i-1)). */
  brokerPort: number;
  /** Run the bundles an earlier invocation built (`.local/e2e-bundles/chaos`) instead of building them. */
  reuseBundles: boolean;
  /** Settings given to every instance (`--app-env`), e.g. a lever under test. */
  appEnv: Record<string, string>;
  /** Print progress lines. */
  log: (line: string) => void;
}

export const DEFAULT_FAULTS: FaultName[] = [...FAULTS];

const USAGE = `npm run chaos -- [options]

Starts N instances of every app as processes on a private Kafka (single broker or
three-node cluster) and a private PostgreSQL server, drives an open-loop order
load, inflicts a seeded schedule of faults, then checks the invariants from the
databases and topics. Writes bench/results/chaos-*.json and .md; exits 1 on any
violation.

Options:
  --runs N          runs, each on a fresh system (default 1); run r uses seed+r
  --seed S          seed of the first run (default: from the clock, printed)
  --faults a,b,c    faults to schedule (default: all), from:
${FAULTS.map((f) => `                      ${f.padEnd(20)}${FAULT_HELP[f]}`).join('\n')}
  --cluster         three-node KRaft cluster instead of one broker
  --instances N     instances of each app (default 2)
  --rate R          orders per second (default 20)
  --duration S      seconds of load at least (default 60); extended until every fault is over
  --orders N        at most N orders per run
  --hold S          seconds a fault is held (default 8; a paused instance: session timeout + 5)
  --settle-timeout S  seconds to wait for quiescence (default 180)
  --app-env K=V,…  settings for every app instance (e.g. CONSUMER_UNIT_OF_WORK=batch)
  --reuse-bundles   run the app bundles the last invocation built (after a code change: leave it out)
  --help            this text`;

export function parseChaosArgs(argv: string[]): ChaosOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      cluster: { type: 'boolean' },
      instances: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      orders: { type: 'string' },
      hold: { type: 'string' },
      'settle-timeout': { type: 'string' },
      'reuse-bundles': { type: 'boolean' },
      'app-env': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const number = (name: string, raw: string | undefined, fallback: number, min = 1) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} wants a number of at least ${min}, got "${raw}"`);
    return value;
  };
  const faults = (values.faults ?? DEFAULT_FAULTS.join(','))
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const cluster = values.cluster ?? false;
  return {
    runs: Math.round(number('runs', values.runs, 1)),
    seed: Math.round(number('seed', values.seed, Date.now() % 1_000_000, 0)),
    faults: faults as FaultName[],
    cluster,
    instances: Math.round(number('instances', values.instances, 2)),
    rate: number('rate', values.rate, 20),
    duration: number('duration', values.duration, 60),
    orders: values.orders === undefined ? undefined : Math.round(number('orders', values.orders, 1)),
    hold: number('hold', values.hold, 8),
    settleTimeout: number('settle-timeout', values['settle-timeout'], 180),
    reuseBundles: values['reuse-bundles'] ?? false,
    appEnv: parseEnvAssignments(values['app-env'], '--app-env'),
    resultsDir: 'bench/results',
    name: cluster ? 'chaos-cluster' : 'chaos',
    brokerPort: cluster ? 28792 : 28692,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

export { USAGE };
