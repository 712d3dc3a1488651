import { DeadLetterHeaders } from '@lib/messaging/dead-letter';
import type { ConsumedMessage } from '@lib/kafka';

/** Header a replayed message carries: where in the dead-letter topic it came from (`<topic>/<partition>@<offset>`). */
export const REPLAYED_FROM_HEADER = 'dlq-replayed-from';

/** One message of a dead-letter topic, with its dead-letter headers read out. */
export interface DeadLetterRecord {
  /** The dead-letter topic and the record's place in it. */
  topic: string;
  partition: number;
  offset: string;
  /** When Kafka stored it (epoch milliseconds, as a string). */
  timestamp: string;
  /** Original key and value, byte for byte as the consumer received them. */
  key: Buffer | null;
  value: Buffer | null;
  /** All headers: the original ones plus the `dlq-*` ones. */
  headers: Record<string, string>;
  originalTopic: string | null;
  originalPartition: number | null;
  originalOffset: string | null;
  consumerGroup: string | null;
  errorKind: string | null;
  errorMessage: string | null;
  failedAt: string | null;
  attempts: number | null;
  /** The envelope's `id` when the value is JSON with a string `id`, else the `event-id` header, else null. */
  eventId: string | null;
  /** Set when this dead letter is itself a replayed message that failed again. */
  replayedFrom: string | null;
}

/** Reads the dead-letter headers of a consumed dead letter; never throws (a hand-made record just has nulls). */
export function toDeadLetterRecord(message: ConsumedMessage): DeadLetterRecord {
  const h = message.headers;
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value,
    headers: h,
    originalTopic: h[DeadLetterHeaders.OriginalTopic] ?? null,
    originalPartition: int(h[DeadLetterHeaders.OriginalPartition]),
    originalOffset: h[DeadLetterHeaders.OriginalOffset] ?? null,
    consumerGroup: h[DeadLetterHeaders.ConsumerGroup] ?? null,
    errorKind: h[DeadLetterHeaders.ErrorKind] ?? null,
    errorMessage: h[DeadLetterHeaders.ErrorMessage] ?? null,
    failedAt: h[DeadLetterHeaders.FailedAt] ?? null,
    attempts: int(h[DeadLetterHeaders.Attempts]),
    eventId: eventIdOf(message.value) ?? h['event-id'] ?? null,
    replayedFrom: h[REPLAYED_FROM_HEADER] ?? null,
  };
}

/** A dead letter's name everywhere (console, `npm run dlq`, replayed messages): `<dlq topic>/<partition>@<offset>`. */
export function deadLetterId(record: Pick<DeadLetterRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

/** The value for people: pretty-printed JSON, or the raw text when it is not JSON. */
export function valueText(value: Buffer | null): { json: boolean; text: string } {
  if (!value) return { json: false, text: '' };
  const raw = value.toString('utf8');
  try {
    return { json: true, text: JSON.stringify(JSON.parse(raw), null, 2) };
  } catch {
    return { json: false, text: raw };
  }
}

function eventIdOf(value: Buffer | null): string | null {
  if (!value) return null;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    const id = parsed && typeof parsed === 'object' ? (parsed as { id?: unknown }).id : undefined;
    return typeof id === 'string' && id.length > 0 ? id : null;
  } catch {
    return null;
  }
}
