import { encodeEvent, EventEnvelope, eventHeaders, eventKey, topicFor } from '@lib/events';
import { kafkaBrokers } from '@lib/infra';
import { clientSettings, DurableProducer, KafkaClientSettings, OutgoingMessage, SendResult } from '@lib/kafka';
import { uniqueName } from './eventually';

/**
 * Puts events on Kafka the way the apps' outbox relay does: the topic of
 * their type, keyed by order id, the JSON envelope as value. With
 * `headers: false` the messages carry no headers at all, like one typed into
 * kafka-console-producer by hand (consumers must handle both).
 */
export class EventProducer {
  private readonly producer: DurableProducer;

  /** `kafka`: bootstrap addresses, or client settings with TLS/SASL for a secured broker. */
  constructor(
    kafka: string[] | KafkaClientSettings = kafkaBrokers(),
    private readonly options: { headers?: boolean } = {},
  ) {
    this.producer = new DurableProducer({ ...clientSettings(kafka), clientId: uniqueName('test-producer') });
  }

  /** Publishes the events in one batch, each to the topic of its type; resolves once the broker has them all. */
  async publish(...events: EventEnvelope[]): Promise<SendResult[]> {
    return this.producer.send(events.map((event) => this.message(topicFor(event.type), event)));
  }

  /** Publishes the events to `topic` (a test's own topic) instead of their type's. */
  async publishTo(topic: string, ...events: EventEnvelope[]): Promise<SendResult[]> {
    return this.producer.send(events.map((event) => this.message(topic, event)));
  }

  /** Sends messages as they are: a tampered value, a topic of the test's own. */
  async send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    return this.producer.send(messages);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private message(topic: string, event: EventEnvelope): OutgoingMessage {
    return {
      topic,
      key: eventKey(event),
      value: encodeEvent(event),
      headers: this.options.headers === false ? undefined : eventHeaders(event),
    };
  }
}
