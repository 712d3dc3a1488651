import { ALL_TOPICS } from '@lib/events';
import { ensureTopics, startBroker, stopBroker, waitForKafka } from '@lib/infra';

/**
 * A Kafka broker of a suite's own (same jars and settings as the main one,
 * other ports, fresh data), with the contract topics. Suites that run the
 * apps' real consumer groups (`order`, `payment`, `notification`) use one, so
 * they neither see other suites' messages nor steal their partitions, and
 * fault tests can stop it without disturbing anyone.
 */
export async function startPrivateKafka(name: string, port: number, partitions = 3): Promise<{ brokers: string[]; stop: () => Promise<void> }> {
  await startBroker({ name, port, controllerPort: port + 1, fresh: true, partitions });
  const brokers = [`localhost:${port}`];
  const connection = { brokers, clientId: `${name}-setup` };
  await waitForKafka(connection, { timeoutMs: 90_000 });
  await ensureTopics(connection, ALL_TOPICS, { partitions, replicationFactor: 1 });
  return { brokers, stop: async () => void (await stopBroker(name)) };
}
