import { AppName, deadLetterTopic } from '@lib/events';
import { DurableProducer, isRecordTooLarge, KafkaConnectionOptions } from '@lib/kafka';
import { createHash } from 'node:crypto';

/**
 * Why a message was dead-lettered, as the `dlq-error-kind` header says it. The
 * kinds come from the policy that gave up on the message: the parse policy
 * (`not_json`, `not_envelope`, `unknown_type`, `invalid_data`), the route
 * policy (`unexpected_type`), the failure classes (`handler_error` after the
 * retries, or a class that dead-letters at once), and app-level deliveries
 * (the notification app's `delivery_failed`).
 */
export type DeadLetterKind = string;

/** Headers a dead letter carries next to the original ones; `npm run dlq` reads them. */
export const DeadLetterHeaders = {
  OriginalTopic: 'dlq-original-topic',
  OriginalPartition: 'dlq-original-partition',
  OriginalOffset: 'dlq-original-offset',
  OriginalKey: 'dlq-original-key',
  ConsumerGroup: 'dlq-consumer-group',
  ErrorKind: 'dlq-error-kind',
  ErrorMessage: 'dlq-error-message',
  FailedAt: 'dlq-failed-at',
  Attempts: 'dlq-attempts',
  /** Set (`too_large`) when the value was replaced by a marker because the letter was too large for the dead-letter topic. */
  ValueReplaced: 'dlq-value-replaced',
  /** Size in bytes of the original value, when it was replaced. */
  OriginalSize: 'dlq-original-size',
  /** SHA-256 (hex) of the original value, when it was replaced: find it in the original topic at its offset. */
  OriginalSha256: 'dlq-original-sha256',
} as const;

/** The value of a dead letter whose original value was too large to be written (JSON). */
export interface TooLargeMarker {
  marker: 'dead-letter value replaced: too large for the dead-letter topic';
  originalSize: number;
  sha256: string;
}

/**
 * The letter to send instead of one the dead-letter topic refused as too
 * large: the value is a {@link TooLargeMarker}, the headers say so and keep
 * the original's size, hash and position (topic, partition, offset), where
 * the value itself can still be read until retention removes it.
 */
export function tooLargeLetter<T extends { value: Buffer | string; headers: Record<string, string> }>(letter: T): T {
  const value = typeof letter.value === 'string' ? Buffer.from(letter.value, 'utf8') : letter.value;
  const sha256 = createHash('sha256').update(value).digest('hex');
  const marker: TooLargeMarker = { marker: 'dead-letter value replaced: too large for the dead-letter topic', originalSize: value.length, sha256 };
  return {
    ...letter,
    value: JSON.stringify(marker),
    headers: {
      ...letter.headers,
      [DeadLetterHeaders.ValueReplaced]: 'too_large',
      [DeadLetterHeaders.OriginalSize]: String(value.length),
      [DeadLetterHeaders.OriginalSha256]: sha256,
    },
  };
}

export interface DeadLetterReason {
  kind: DeadLetterKind;
  message: string;
  /** Handler attempts made; 0 when the message was refused before any. */
  attempts: number;
}

/** The message being dead-lettered, as it was consumed (a `ConsumedMessage` is one). */
export interface DeadLetterOriginal {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Record<string, string>;
}

/** The headers of a dead letter: the original headers plus the reason and where the message came from. */
export function deadLetterHeaders(message: DeadLetterOriginal, groupId: string, reason: DeadLetterReason, failedAt = new Date()): Record<string, string> {
  const key = message.key === null ? null : message.key.toString();
  return {
    ...message.headers,
    [DeadLetterHeaders.OriginalTopic]: message.topic,
    [DeadLetterHeaders.OriginalPartition]: String(message.partition),
    [DeadLetterHeaders.OriginalOffset]: message.offset,
    ...(key ? { [DeadLetterHeaders.OriginalKey]: key } : {}),
    [DeadLetterHeaders.ConsumerGroup]: groupId,
    [DeadLetterHeaders.ErrorKind]: reason.kind,
    // Header values are bytes without a size limit of their own, but keep them readable.
    [DeadLetterHeaders.ErrorMessage]: reason.message.slice(0, 4000),
    [DeadLetterHeaders.FailedAt]: failedAt.toISOString(),
    [DeadLetterHeaders.Attempts]: String(reason.attempts),
  };
}

/**
 * Where messages that cannot be handled go — the poison-message policy. The
 * consumer runtime sends what it gives up on here and then moves on; an app
 * may send its own (the notification app's undeliverable notifications).
 * `send` resolves once the letter is stored and throws when it could not be
 * (the caller waits and tries again; nothing is dropped).
 *
 * An abstract class so that it is its own Nest injection token.
 */
export abstract class DeadLetterSink {
  /** Where the letters go, for log lines. */
  abstract readonly destination: string;
  abstract send(original: DeadLetterOriginal, reason: DeadLetterReason): Promise<void>;
  abstract close(): Promise<void>;
}

/**
 * The default sink: the app's dead-letter topic `<app>.dlq`, the original key
 * and value byte for byte, the original headers plus the `dlq-*` ones,
 * through a durable producer (acks from every in-sync replica).
 *
 * A letter the topic refuses as too large (MESSAGE_TOO_LARGE: the original
 * came compressed, or the topic allows less) is sent again with its value
 * replaced by a marker ({@link tooLargeLetter}) — retrying as is could never
 * succeed and would hold the partition forever. Any other failure (the
 * broker away, a missing permission) is an outage: `send` throws, the
 * consumer waits and reports it, nothing is dropped.
 */
export class KafkaDeadLetterSink extends DeadLetterSink {
  readonly destination: string;
  private readonly producer: DurableProducer;

  constructor(private readonly options: { app: AppName; groupId: string; kafka: KafkaConnectionOptions }) {
    super();
    this.destination = deadLetterTopic(options.app);
    this.producer = new DurableProducer(options.kafka);
  }

  async send(original: DeadLetterOriginal, reason: DeadLetterReason): Promise<void> {
    const letter = {
      topic: this.destination,
      key: original.key === null ? null : original.key.toString(),
      value: original.value ?? '',
      headers: deadLetterHeaders(original, this.options.groupId, reason),
    };
    try {
      await this.producer.send([letter]);
    } catch (error) {
      if (!isRecordTooLarge(error)) throw error;
      await this.producer.send([tooLargeLetter(letter)]);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
