import { kafkaBrokers } from '@lib/infra';
import { clientSettings, ConsumedMessage, ConsumerRunner, KafkaClientSettings } from '@lib/kafka';
import { eventually, uniqueName } from './eventually';

/**
 * Records every message of some topics from the beginning, with a consumer
 * group of its own, so a test can wait for what was published.
 */
export class TopicRecorder {
  readonly messages: ConsumedMessage[] = [];
  private readonly runner: ConsumerRunner;

  private constructor(topics: string[], kafka: string[] | KafkaClientSettings) {
    this.runner = new ConsumerRunner(
      { ...clientSettings(kafka), clientId: uniqueName('recorder') },
      { groupId: uniqueName('recorder'), topics, partitionsConsumedConcurrently: 6, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, fromBeginning: true },
    );
  }

  /**
   * Starts recording and resolves once the group has joined, so nothing
   * published afterwards is missed. `kafka`: bootstrap addresses, or client
   * settings with TLS/SASL for a secured broker.
   */
  static async start(topics: string[], kafka: string[] | KafkaClientSettings = kafkaBrokers()): Promise<TopicRecorder> {
    const recorder = new TopicRecorder(topics, kafka);
    // Each record once: when the recorder's own group rebalances (its member dropped under load), kafkajs
    // hands over uncommitted records again, which are not duplicates on the wire.
    const seen = new Set<string>();
    await recorder.runner.start(async (message) => {
      const at = `${message.topic}:${message.partition}:${message.offset}`;
      if (!seen.has(at)) {
        seen.add(at);
        recorder.messages.push(message);
      }
      return 'done';
    });
    await eventually(() => recorder.runner.status().state === 'joined', { timeoutMs: 30_000, what: 'recorder joined its group' });
    return recorder;
  }

  /** Messages whose parsed JSON value satisfies `match`. */
  values<T = Record<string, unknown>>(match: (value: T, message: ConsumedMessage) => boolean = () => true): T[] {
    return this.messages.flatMap((m) => {
      try {
        const value = JSON.parse(m.value?.toString('utf8') ?? 'null') as T;
        return match(value, m) ? [value] : [];
      } catch {
        return [];
      }
    });
  }

  async waitFor(count: number, match: (m: ConsumedMessage) => boolean = () => true, timeoutMs = 30_000): Promise<ConsumedMessage[]> {
    return eventually(() => this.messages.filter(match), { timeoutMs, accept: (found) => found.length >= count, what: `${count} recorded messages` });
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }
}
