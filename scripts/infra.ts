/**
 * npm run infra:up | infra:down | infra:status | infra:fetch
 * (ts-node scripts/infra.ts <command>). Exits non-zero with one clear line on failure.
 */
import { fetchKafka, infraDown, infraStatus, infraUp, KAFKA_VERSION, loadDotEnv } from '@lib/infra';

const USAGE = 'usage: ts-node scripts/infra.ts up | down | status | fetch';

async function main(cmd: string | undefined): Promise<number> {
  loadDotEnv();
  switch (cmd) {
    case 'up': {
      const started = Date.now();
      await infraUp();
      console.log(`infra: up (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return 0;
    }
    case 'down':
      await infraDown();
      return 0;
    case 'fetch': {
      const libs = await fetchKafka();
      console.log(`kafka: Apache Kafka ${KAFKA_VERSION} jars in ${libs}`);
      return 0;
    }
    case 'status': {
      const s = await infraStatus();
      console.log(`kafka: version ${s.kafkaVersion}, jars ${s.jarsFetched ? 'fetched' : 'not fetched (npm run infra:fetch)'}`);
      for (const b of s.localBrokers) {
        console.log(`kafka: local broker "${b.name}" ${b.running ? `running, pid ${b.pid}, port ${b.port}` : 'stopped'}`);
      }
      console.log(`kafka: ${s.brokers.join(',')} ${s.kafkaReady ? 'ready' : 'NOT ready'}`);
      if (s.kafkaReady) {
        console.log(s.missingTopics.length === 0 ? 'kafka: all contract topics present' : `kafka: missing topics ${s.missingTopics.join(', ')}`);
      }
      for (const p of s.postgres) {
        console.log(`postgres: ${p.url} ${!p.reachable ? 'server NOT reachable' : p.exists ? 'ok' : 'database missing'}`);
      }
      const healthy = s.kafkaReady && s.missingTopics.length === 0 && s.postgres.every((p) => p.exists);
      console.log(healthy ? 'infra: up' : 'infra: not (fully) up; run npm run infra:up');
      return healthy ? 0 : 3;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`infra ${process.argv[2]}: ${msg}`);
    process.exit(1);
  },
);
