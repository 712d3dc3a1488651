/**
 * The test consumer as a process of its own, so a test can SIGKILL it:
 * `node -r ts-node/register/transpile-only -r tsconfig-paths/register consumer-process.ts`
 * with TEST_CONSUMER (JSON of TestConsumerOptions plus `defaultDelayMs`).
 * Prints `READY` once its consumer group is joined; SIGTERM prints `STATS <counts>` and closes it.
 */
import 'reflect-metadata';
import { startTestConsumer, TestConsumerOptions } from './test-consumer';

async function main(): Promise<void> {
  const config = JSON.parse(process.env.TEST_CONSUMER ?? '') as TestConsumerOptions & { defaultDelayMs?: number };
  const consumer = await startTestConsumer(config);
  consumer.behaviour.defaultDelayMs = config.defaultDelayMs ?? 0;
  process.stdout.write('READY\n');
  process.once('SIGTERM', () => {
    process.stdout.write(`STATS ${JSON.stringify(consumer.transport.stats().counts)}\n`);
    void consumer.close().then(() => process.exit(0));
  });
}

main().catch((error: Error) => {
  process.stderr.write(`test consumer failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
