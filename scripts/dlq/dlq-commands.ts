import { AppName, deadLetterTopic } from '@lib/events';
import { DurableProducer, KafkaConnectionOptions, readTopic } from '@lib/kafka';
import { DeadLetterRecord, toDeadLetterRecord } from './dead-letter-record';
import { formatReplayed } from './format';
import { ReplaySelection, replayMessage, selectForReplay } from './replay-selection';

export interface DeadLetterFilter {
  /** Only dead letters written by this consumer group. */
  group?: string;
}

/** Every dead letter of `<app>.dlq` present now, oldest first per partition. */
export async function listDeadLetters(connection: KafkaConnectionOptions, app: AppName, filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
  const messages = await readTopic(connection, deadLetterTopic(app), { groupIdPrefix: `dlq-tool-${app}` });
  return messages.map(toDeadLetterRecord).filter((r) => !filter.group || r.consumerGroup === filter.group);
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
  const messages = replay.map(replayMessage);
  if (!options.dryRun && messages.length > 0) {
    const producer = new DurableProducer({ ...connection, clientId: `${connection.clientId}-replay` });
    try {
      await producer.send(messages);
    } finally {
      await producer.disconnect();
    }
  }
  replay.forEach((record, i) => log(formatReplayed(record, messages[i], options.dryRun ?? false)));
  return { replayed: replay, skipped };
}
