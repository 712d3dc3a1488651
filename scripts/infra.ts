/**
 * npm run infra:up | infra:down | infra:status | infra:fetch
 * (ts-node scripts/infra.ts <command>). Exits non-zero with one clear line on failure.
 */
import {
  AppBacklog,
  DEFAULT_SECURE_PORT,
  ensureDatabases,
  fetchKafka,
  infraDown,
  infraStatus,
  infraUp,
  kafkaVersion,
  localBootstrap,
  parseClusterSize,
  parseCommandLine,
  preflight,
  startSecureBroker,
  stopBroker,
} from '@lib/infra';
import * as path from 'node:path';

const USAGE = `usage:
  npm run infra:up [-- --brokers N]   start Kafka (N=1: single broker, the default; N=3: a KRaft cluster on
                                      localhost:9092,9094,9096), the contract topics and the databases
  npm run infra:up -- --secure        start the secured broker instead (or KAFKA_SECURE=true): SASL_SSL with
                                      SCRAM-SHA-512 and per-app ACLs on localhost:KAFKA_SECURE_PORT (default 9192);
                                      writes .local/kafka/secure/secure/<app>.env and <principal>.properties
  npm run infra:down                  stop the local Kafka broker(s); PostgreSQL is left running
  npm run infra:status [-- --json]    what runs and what is missing (exit 0 only when all is up), and per app
                                      its consumer lag, dead letters waiting and outbox backlog
  npm run infra:fetch                 only download the Kafka jars

environment: KAFKA_VERSION (default ${kafkaVersion({})}; e.g. 3.9.1), KAFKA_CLUSTER_SIZE (same as --brokers),
KAFKA_BROKERS with KAFKA_SSL*/KAFKA_SASL_* (as the apps), KAFKA_PORT, KAFKA_TOPIC_PARTITIONS, KAFKA_DLQ_RETENTION_MS (default -1, unlimited),
KAFKA_EVENT_RETENTION_MS, INFRA_MODE, *_DATABASE_URL, CONSOLE_URL (status: which dead letters the console handled) — from the environment or .env (see docs/infrastructure.md)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    { usage: USAGE, allowPositionals: true, options: { brokers: { type: 'string' }, secure: { type: 'boolean' }, json: { type: 'boolean' } } },
    argv,
  );
  const cmd = positionals[0];
  switch (cmd) {
    case 'up': {
      const started = Date.now();
      if (values.secure || /^(1|true|yes)$/i.test(process.env.KAFKA_SECURE ?? '')) {
        const port = Number(process.env.KAFKA_SECURE_PORT || DEFAULT_SECURE_PORT);
        const broker = await startSecureBroker({ name: 'secure', port });
        await ensureDatabases();
        const dir = path.relative(process.cwd(), broker.material.dir);
        console.log(`infra: secured broker up on ${broker.brokers.join(',')} (SASL_SSL, SCRAM-SHA-512, ACLs; ${((Date.now() - started) / 1000).toFixed(1)} s)`);
        console.log(`infra: per app: set -a; . ${dir}/order.env; set +a; npm run start:order   (likewise payment, notification)`);
        console.log(
          `infra: tools (npm run dlq, infra:status, bin/): set -a; . ${dir}/admin.env; set +a; bin/kafka-topics.sh --bootstrap-server ${broker.brokers[0]} --list`,
        );
        return 0;
      }
      const check = await preflight();
      if (check.problems.length > 0) {
        for (const p of check.problems) console.log(`preflight: ${p.line}`);
        console.log(`preflight: ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}; nothing was started`);
        return 1;
      }
      const brokers = values.brokers === undefined ? undefined : parseClusterSize(values.brokers, '--brokers');
      const result = await infraUp({ brokers });
      const what = result.nodes > 1 ? `${result.nodes} brokers` : '1 broker';
      const version = result.version ? `, Kafka ${result.version}` : '';
      console.log(`infra: up (${what}${version}; ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return 0;
    }
    case 'down':
      await infraDown();
      if (await stopBroker('secure', { log: () => undefined })) console.log('kafka: stopped the secured broker');
      return 0;
    case 'fetch': {
      const libs = await fetchKafka();
      console.log(`kafka: Apache Kafka ${kafkaVersion()} jars in ${libs}`);
      return 0;
    }
    case 'status': {
      const s = await infraStatus();
      const healthy = s.kafkaReady && s.missingTopics.length === 0 && s.postgres.every((p) => p.exists);
      if (values.json) {
        console.log(JSON.stringify({ ...s, healthy }, null, 2));
        return healthy ? 0 : 3;
      }
      console.log(`kafka: infra:up starts version ${s.kafkaVersion}, jars ${s.jarsFetched ? 'fetched' : 'not fetched (npm run infra:fetch)'}`);
      if (s.local) {
        const kind = s.local.nodes === 1 ? 'single broker' : `${s.local.nodes}-node cluster, ${s.local.running} running`;
        const controller = s.local.activeController === undefined ? '' : `, active controller: node ${s.local.activeController}`;
        console.log(`kafka: local ${kind}, Kafka ${s.local.version ?? '?'}${controller}`);
        if (s.local.nodes > 1 && s.brokers.length < s.local.nodes) {
          console.log(`kafka: hint: KAFKA_BROKERS=${localBootstrap(s.local.nodes).join(',')} survives the loss of node 1`);
        }
      }
      for (const b of s.localBrokers) {
        console.log(`kafka: local broker "${b.name}" ${b.running ? `running, pid ${b.pid}, port ${b.port}, Kafka ${b.version ?? '?'}` : 'stopped'}`);
      }
      const registered = s.clusterBrokers === undefined ? '' : ` (${s.clusterBrokers} broker${s.clusterBrokers === 1 ? '' : 's'} registered)`;
      console.log(`kafka: ${s.brokers.join(',')} ${s.kafkaReady ? 'ready' : 'NOT ready'}${registered}`);
      if (s.kafkaReady) {
        console.log(s.missingTopics.length === 0 ? 'kafka: all contract topics present' : `kafka: missing topics ${s.missingTopics.join(', ')}`);
      }
      for (const p of s.postgres) {
        console.log(`postgres: ${p.url} ${!p.reachable ? 'server NOT reachable' : p.exists ? 'ok' : 'database missing'}`);
      }
      for (const a of s.apps) console.log(appBacklogLine(a));
      console.log(healthy ? 'infra: up' : 'infra: not (fully) up; run npm run infra:up');
      return healthy ? 0 : 3;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

/** `order: consumer lag 3 (payment.completed 3) · dead letters waiting 1 (2 in order.dlq, 1 handled) · outbox 0 pending, 0 parked`. */
function appBacklogLine(a: AppBacklog): string {
  const lagTopics = a.consumerLag && Object.entries(a.consumerLag);
  const lag = !lagTopics
    ? 'consumer lag unknown'
    : lagTopics.length === 0
      ? 'consumer lag 0 (no committed offsets yet)'
      : `consumer lag ${lagTopics.reduce((n, [, v]) => n + v, 0)} (${lagTopics.map(([t, v]) => `${t} ${v}`).join(', ')})`;
  const d = a.deadLetters;
  const dlq = !d
    ? 'dead letters unknown'
    : `dead letters waiting ${d.waiting} (${d.inTopic} in ${a.app}.dlq, ${d.handled === null ? 'handled unknown: console not reachable' : `${d.handled} handled in the console`})`;
  const outbox = a.outbox
    ? `outbox ${a.outbox.pending} pending, ${a.outbox.parked} parked`
    : a.errors.some((e) => e.startsWith('outbox'))
      ? 'outbox unknown'
      : 'no outbox';
  const problems = a.errors.length > 0 ? `\n${a.app}:   ${a.errors.join('\n' + a.app + ':   ')}` : '';
  return `${a.app}: ${lag} · ${dlq} · ${outbox}${problems}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`infra ${process.argv[2] ?? ''}: ${msg}`);
    process.exit(1);
  },
);
