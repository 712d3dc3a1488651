import { AppName, deadLetterTopic } from '@lib/events';
import { DurableProducer, KafkaConnectionOptions, OutgoingMessage, readTopic } from '@lib/kafka';
import { DeadLetterRecord, toDeadLetterRecord } from './dead-letter-record';
import { formatReplayed } from './format';
import { ReplaySelection, replayMessage, selectForReplay } from './replay-selection';

export interface DeadLetterFilter {
  /** Only dead letters written by this consumer group. */
  group?: string;
  /** Only dead letters that failed at or after this time (by `dlq-failed-at`, else the record's timestamp). */
  since?: Date;
}

/** When a dead letter failed: its `dlq-failed-at` header, else the time Kafka stored it. */
export function failedAtOf(record: DeadLetterRecord): Date {
  const fromHeader = record.failedAt ? Date.parse(record.failedAt) : NaN;
  return new Date(Number.isNaN(fromHeader) ? Number(record.timestamp) : fromHeader);
}

/** Whether a record passes `filter`. */
export function matchesFilter(record: DeadLetterRecord, filter: DeadLetterFilter): boolean {
  if (filter.group && record.consumerGroup !== filter.group) return false;
  if (filter.since && failedAtOf(record).getTime() < filter.since.getTime()) return false;
  return true;
}

/** Every dead letter of `<app>.dlq` present now, oldest first per partition. */
export async function listDeadLetters(connection: KafkaConnectionOptions, app: AppName, filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
  const messages = await readTopic(connection, deadLetterTopic(app), { groupIdPrefix: `dlq-tool-${app}` });
  return messages.map(toDeadLetterRecord).filter((r) => matchesFilter(r, filter));
}

export interface ReplayOptions extends DeadLetterFilter {
  /** Print what would be replayed, publish nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface ReplayResult {
  replayed: DeadLetterRecord[];
  skipped: { record: DeadLetterRecord; why: string }[];
}

/**
 * Re-publishes the given dead letters to their original topics (see
 * {@link replayMessage}) in one acknowledged batch, and returns the messages
 * sent. Callers choose the records; {@link replayDeadLetters} and the console
 * both end here.
 */
export async function publishReplays(connection: KafkaConnectionOptions, records: readonly DeadLetterRecord[]): Promise<OutgoingMessage[]> {
  const messages = records.map(replayMessage);
  if (messages.length === 0) return messages;
  const producer = new DurableProducer({ ...connection, clientId: `${connection.clientId}-replay` });
  try {
    await producer.send(messages);
  } finally {
    await producer.disconnect();
  }
  return messages;
}

/**
 * Re-publishes dead letters of `<app>.dlq` to their original topics, with
 * their original key and value, in one acknowledged batch. Safe to repeat:
 * the consumers' inbox turns an event handled before into a no-op.
 */
export async function replayDeadLetters(
  connection: KafkaConnectionOptions,
  app: AppName,
  selection: ReplaySelection,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const log = options.log ?? (() => undefined);
  const records = await listDeadLetters(connection, app, options);
  const { replay, skipped } = selectForReplay(records, selection);
  const messages = options.dryRun ? replay.map(replayMessage) : await publishReplays(connection, replay);
  replay.forEach((record, i) => log(formatReplayed(record, messages[i], options.dryRun ?? false)));
  return { replayed: replay, skipped };
}
