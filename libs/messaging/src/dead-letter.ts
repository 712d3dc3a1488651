import { AppName, deadLetterTopic } from '@lib/events';
import { DurableProducer, KafkaConnectionOptions } from '@lib/kafka';

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
} as const;

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
    await this.producer.send([
      {
        topic: this.destination,
        key: original.key === null ? null : original.key.toString(),
        value: original.value ?? '',
        headers: deadLetterHeaders(original, this.options.groupId, reason),
      },
    ]);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
