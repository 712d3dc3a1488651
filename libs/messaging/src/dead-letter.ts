import { ConsumedMessage } from '@lib/kafka';

/** Why a message was dead-lettered: the parse failures of `@lib/events`, a type on the wrong topic, or a handler that kept failing. */
export type DeadLetterKind = 'not_json' | 'not_envelope' | 'unknown_type' | 'invalid_data' | 'unexpected_type' | 'handler_error';

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
  attempts: number;
}

/** Builds the dead letter of a consumed message: the value byte for byte, the key, the original headers plus the reason. */
export function deadLetterHeaders(message: ConsumedMessage, groupId: string, reason: DeadLetterReason, failedAt = new Date()): Record<string, string> {
  return {
    ...message.headers,
    [DeadLetterHeaders.OriginalTopic]: message.topic,
    [DeadLetterHeaders.OriginalPartition]: String(message.partition),
    [DeadLetterHeaders.OriginalOffset]: message.offset,
    ...(message.key ? { [DeadLetterHeaders.OriginalKey]: message.key.toString('utf8') } : {}),
    [DeadLetterHeaders.ConsumerGroup]: groupId,
    [DeadLetterHeaders.ErrorKind]: reason.kind,
    // Header values are bytes without a size limit of their own, but keep them readable.
    [DeadLetterHeaders.ErrorMessage]: reason.message.slice(0, 4000),
    [DeadLetterHeaders.FailedAt]: failedAt.toISOString(),
    [DeadLetterHeaders.Attempts]: String(reason.attempts),
  };
}
