import { randomUUID } from 'node:crypto';
import { Kafka, KafkaMessage } from 'kafkajs';
import { ConsumedMessage } from './consumer-runner';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';

export interface ReadTopicOptions {
  /** Give up (and throw) when the end is not reached within this time. Default 60 s. */
  timeoutMs?: number;
  /** Prefix of the throw-away consumer group. Default `topic-reader`. */
  groupIdPrefix?: string;
}

/**
 * Reads a whole topic once: every message retained when the call starts, from
 * the earliest offset up to the end as it was then, and returns them ordered
 * by partition and offset. Messages produced meanwhile are left out, so the
 * call always ends.
 *
 * kafkajs can only consume through a consumer group, so the reader joins a
 * group of its own (random name, nothing committed) and deletes it when done:
 * it never moves the offsets of any real consumer.
 */
export async function readTopic(connection: KafkaConnectionOptions, topic: string, options: ReadTopicOptions = {}): Promise<ConsumedMessage[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const kafka = new Kafka(toKafkaJsConfig(connection));
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${options.groupIdPrefix ?? 'topic-reader'}-${randomUUID()}`;
  try {
    // The end of each partition now: the offset after its last message.
    const ends = new Map<number, bigint>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
    }
    if (ends.size === 0) return [];

    const messages: ConsumedMessage[] = [];
    const pending = new Set(ends.keys());
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    let finished!: () => void;
    const allRead = new Promise<void>((resolve) => (finished = resolve));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition);
          if (end === undefined || !pending.has(batch.partition)) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) < end) messages.push(toConsumed(batch.topic, batch.partition, m));
          }
          // lastOffset() also covers control records and compacted gaps at the end.
          if (BigInt(batch.lastOffset()) + 1n >= end) {
            pending.delete(batch.partition);
            if (pending.size === 0) finished();
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topic}: end not reached within ${timeoutMs} ms (partitions left: ${[...pending].join(', ')})`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([allRead, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return messages.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

// Same conversion as the consumer runner's: header values decoded as UTF-8, no kafkajs types outside.
function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    headers[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers, timestamp: m.timestamp };
}
