import { CompressionTypes, Kafka, Message, Producer, type ICustomPartitioner } from 'kafkajs';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';
import { KeyHashPartitioner } from './partitioner';

/** A message as our code sees it: bytes or text, string headers. */
export interface OutgoingMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/** Per-topic acknowledgement of one batch. */
export interface SendResult {
  topic: string;
  partition: number;
  baseOffset?: string;
}

/**
 * A producer configured for durability and order:
 * - `acks: -1` waits for every in-sync replica;
 * - idempotent, with a single in-flight request, so kafkajs's retries can
 *   neither duplicate nor reorder messages of a partition;
 * - `sendBatch` puts messages of many topics in one request per broker,
 *   because kafkajs has no linger of its own and one awaited `send` per
 *   message is about ten times slower.
 *
 * After a failed send the underlying kafkajs producer is replaced: an
 * idempotent producer whose sequence numbers went astray (broker restart)
 * otherwise keeps failing with OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * A send resolves only when every partition it wrote to acknowledged: kafkajs
 * 2.2.4's `sendBatch` can resolve without writing the messages of a
 * partition whose leader died mid-send (its retry skips a broker that has
 * already answered, even when the partition moved there: tulios/kafkajs#1303).
 * Such a send is failed here, so the caller retries it (ADR 0009).
 */
export class DurableProducer {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  /** The partition kafkajs's partitioner chose for each message of the sends in flight. */
  private readonly partitionOf = new WeakMap<Message, number>();

  constructor(private readonly options: KafkaConnectionOptions) {
    this.kafka = new Kafka(toKafkaJsConfig(options));
  }

  /** Sends messages (any mix of topics) and resolves once all are acknowledged by all in-sync replicas. */
  async send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    if (messages.length === 0) return [];
    const producer = await this.connected();
    const byTopic = new Map<string, Message[]>();
    const sent: { topic: string; message: Message }[] = [];
    for (const m of messages) {
      const list = byTopic.get(m.topic) ?? [];
      const message: Message = { key: m.key, value: m.value, headers: m.headers };
      list.push(message);
      sent.push({ topic: m.topic, message });
      byTopic.set(m.topic, list);
    }
    try {
      const metadata = await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
      const acknowledged = new Set(metadata.map((m) => `${m.topicName}[${m.partition}]`));
      const unacknowledged = new Set(sent.map(({ topic, message }) => `${topic}[${this.partitionOf.get(message)}]`).filter((tp) => !acknowledged.has(tp)));
      if (unacknowledged.size > 0) {
        throw new Error(`kafkajs resolved a send without an acknowledgement from ${[...unacknowledged].join(', ')} (tulios/kafkajs#1303); send it again`);
      }
      return metadata.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset }));
    } catch (error) {
      await this.reset();
      throw error;
    }
  }

  async connect(): Promise<void> {
    await this.connected();
  }

  async disconnect(): Promise<void> {
    await this.reset();
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    if (!this.connecting) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // murmur2 on the key, like the Java clients (and kafka-console-producer):
        // a key lands on the same partition whoever produces it.
        createPartitioner: this.recordingPartitioner(KeyHashPartitioner),
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 3000 },
      });
      this.connecting = producer
        .connect()
        .then(() => {
          this.producer = producer;
          return producer;
        })
        .finally(() => {
          this.connecting = null;
        });
    }
    return this.connecting;
  }

  /** Wraps a partitioner so that `send` knows which partitions must acknowledge. */
  private recordingPartitioner(create: ICustomPartitioner): ICustomPartitioner {
    return () => {
      const partitioner = create();
      return (args) => {
        const partition = partitioner(args);
        this.partitionOf.set(args.message, partition);
        return partition;
      };
    };
  }

  private async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect().catch(() => undefined);
  }
}
