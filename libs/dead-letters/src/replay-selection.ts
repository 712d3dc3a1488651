import type { OutgoingMessage } from '@lib/kafka';
import { DeadLetterRecord, deadLetterId, REPLAYED_FROM_HEADER } from './dead-letter-record';

/** Which dead letters to replay: those of one event id, or all that can be replayed. */
export type ReplaySelection = { id: string } | { all: true };

export interface SelectedForReplay {
  /** At most one dead letter per event id: the most recent one. */
  replay: DeadLetterRecord[];
  /** Dead letters left out, with the reason. */
  skipped: { record: DeadLetterRecord; why: string }[];
}

/**
 * Picks the dead letters to replay.
 * - Only records with an event id and an original topic: a value that is not
 *   an event (not JSON, not an envelope) would only be dead-lettered again,
 *   and without an id the inbox could not make the replay safe.
 * - One per event id (the latest by failed-at, then position): an event
 *   dead-lettered several times — e.g. replayed before its cause was fixed —
 *   is replayed once. Replaying it twice would still be safe (the inbox), but
 *   pointless.
 */
export function selectForReplay(records: readonly DeadLetterRecord[], selection: ReplaySelection): SelectedForReplay {
  const skipped: SelectedForReplay['skipped'] = [];
  const latest = new Map<string, DeadLetterRecord>();
  for (const record of records) {
    if ('id' in selection && record.eventId !== selection.id) continue;
    if (!record.eventId) {
      skipped.push({ record, why: `no event id (${record.errorKind ?? 'unknown error kind'}): it would only be dead-lettered again` });
      continue;
    }
    if (!record.originalTopic) {
      skipped.push({ record, why: 'no dlq-original-topic header: nowhere to replay it to' });
      continue;
    }
    const seen = latest.get(record.eventId);
    if (!seen) {
      latest.set(record.eventId, record);
    } else if (isLater(record, seen)) {
      skipped.push({ record: seen, why: `a later dead letter of event ${record.eventId} is replayed instead` });
      latest.set(record.eventId, record);
    } else {
      skipped.push({ record, why: `a later dead letter of event ${record.eventId} is replayed instead` });
    }
  }
  return { replay: [...latest.values()], skipped };
}

function isLater(a: DeadLetterRecord, b: DeadLetterRecord): boolean {
  const ta = a.failedAt ?? '';
  const tb = b.failedAt ?? '';
  if (ta !== tb) return ta > tb;
  if (a.partition !== b.partition) return a.partition > b.partition;
  return BigInt(a.offset) > BigInt(b.offset);
}

/**
 * The message a replay publishes: original topic, key and value byte for
 * byte; the original headers without the `dlq-*` ones, plus
 * `dlq-replayed-from: <dlq topic>/<partition>@<offset>` so the trail stays
 * visible if it fails again.
 */
export function replayMessage(record: DeadLetterRecord): OutgoingMessage {
  if (!record.originalTopic) throw new Error(`dead letter ${record.topic}/${record.partition}/${record.offset} has no original topic`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith('dlq-')) headers[name] = value;
  }
  headers[REPLAYED_FROM_HEADER] = deadLetterId(record);
  return {
    topic: record.originalTopic,
    key: record.key ? record.key.toString('utf8') : null,
    value: record.value ?? Buffer.alloc(0),
    headers,
  };
}
