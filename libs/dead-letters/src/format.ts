import type { OutgoingMessage } from '@lib/kafka';
import { DeadLetterAction } from './console-state';
import { DeadLetterRecord, deadLetterId } from './dead-letter-record';

const MAX_MESSAGE = 300;

/**
 * One dead letter as a short block of text for people:
 *
 *     payment.dlq/2@17  order.created[4]@1203  invalid_data  attempts 0  2026-11-22T10:00:01.000Z
 *       event 0b8e…  group payment  key 3f6c…
 *       data.currency must be an ISO 4217 code …
 */
export function formatDeadLetter(r: DeadLetterRecord, action?: DeadLetterAction): string {
  const original = r.originalTopic ? `${r.originalTopic}[${r.originalPartition ?? '?'}]@${r.originalOffset ?? '?'}` : '(no original topic)';
  const first = [
    `${r.topic}/${r.partition}@${r.offset}`,
    original,
    r.errorKind ?? '(no error kind)',
    `attempts ${r.attempts ?? '?'}`,
    r.failedAt ?? '(no failed-at)',
  ];
  const second = [
    `event ${r.eventId ?? '-'}`,
    `group ${r.consumerGroup ?? '-'}`,
    `key ${r.key ? r.key.toString('utf8') : '-'}`,
    ...(r.replayedFrom ? [`replayed from ${r.replayedFrom}`] : []),
  ];
  const lines = [`${first.join('  ')}`, `  ${second.join('  ')}`, `  ${oneLine(r.errorMessage ?? '(no error message)')}`];
  if (action) lines.push(`  ${action.action} by ${action.operator} at ${action.at}${action.note ? `: ${oneLine(action.note)}` : ''}`);
  return lines.join('\n');
}

/**
 * The whole listing of a dead-letter topic, ending with a count per error
 * kind; with the console's recorded actions (`actions`), each replayed or
 * discarded letter says so and the last line counts the waiting ones.
 */
export function formatDeadLetterList(topic: string, records: readonly DeadLetterRecord[], actions?: ReadonlyMap<string, DeadLetterAction>): string {
  if (records.length === 0) return `${topic}: no dead letters`;
  const byKind = new Map<string, number>();
  for (const r of records) byKind.set(r.errorKind ?? 'unknown', (byKind.get(r.errorKind ?? 'unknown') ?? 0) + 1);
  const summary = [...byKind]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const total = `${topic}: ${records.length} dead letter${records.length === 1 ? '' : 's'} (${summary})`;
  const blocks = records.map((r) => formatDeadLetter(r, actions?.get(deadLetterId(r))));
  if (!actions) return [...blocks, '', total].join('\n');
  const done = (kind: string) => records.filter((r) => actions.get(deadLetterId(r))?.action === kind).length;
  const replayed = done('replayed');
  const discarded = done('discarded');
  return [...blocks, '', `${total}; waiting ${records.length - replayed - discarded}, replayed ${replayed}, discarded ${discarded}`].join('\n');
}

/** What a replay did (or, with `dryRun`, would do) with one dead letter. */
export function formatReplayed(record: DeadLetterRecord, message: OutgoingMessage, dryRun: boolean): string {
  return `${dryRun ? 'would replay' : 'replayed'} ${record.topic}/${record.partition}@${record.offset} (event ${record.eventId}, ${record.errorKind ?? '?'}) to ${message.topic} key ${message.key ?? '-'}`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 1)}…` : flat;
}
