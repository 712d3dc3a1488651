import type { ConsumedMessage } from '@lib/kafka';
import { DeadLetterHeaders } from '@lib/messaging/dead-letter';
import {
  DeadLetterAction,
  deadLetterId,
  failedAtOf,
  formatDeadLetter,
  formatDeadLetterList,
  matchesFilter,
  REPLAYED_FROM_HEADER,
  replayMessage,
  selectForReplay,
  toDeadLetterRecord,
  valueText,
} from '../src';

const EVENT_ID = '0b8e6f7a-3c2d-4e1f-9a8b-7c6d5e4f3a21';

function deadLetter(overrides: Partial<ConsumedMessage> & { value?: Buffer | null; extraHeaders?: Record<string, string> } = {}): ConsumedMessage {
  const { extraHeaders, ...rest } = overrides;
  return {
    topic: 'payment.dlq',
    partition: 2,
    offset: '17',
    key: Buffer.from('order-1'),
    value: Buffer.from(JSON.stringify({ id: EVENT_ID, type: 'order.created' })),
    timestamp: '0',
    headers: {
      'event-id': EVENT_ID,
      'correlation-id': 'corr-1',
      [DeadLetterHeaders.OriginalTopic]: 'order.created',
      [DeadLetterHeaders.OriginalPartition]: '4',
      [DeadLetterHeaders.OriginalOffset]: '1203',
      [DeadLetterHeaders.OriginalKey]: 'order-1',
      [DeadLetterHeaders.ConsumerGroup]: 'payment',
      [DeadLetterHeaders.ErrorKind]: 'handler_error',
      [DeadLetterHeaders.ErrorMessage]: 'order order-1 is unknown',
      [DeadLetterHeaders.FailedAt]: '2026-11-22T10:00:01.000Z',
      [DeadLetterHeaders.Attempts]: '5',
      ...extraHeaders,
    },
    ...rest,
  };
}

describe('dead-letter records', () => {
  it('reads the reason and the original coordinates from the dlq-* headers', () => {
    expect(toDeadLetterRecord(deadLetter())).toMatchObject({
      topic: 'payment.dlq',
      partition: 2,
      offset: '17',
      originalTopic: 'order.created',
      originalPartition: 4,
      originalOffset: '1203',
      consumerGroup: 'payment',
      errorKind: 'handler_error',
      errorMessage: 'order order-1 is unknown',
      failedAt: '2026-11-22T10:00:01.000Z',
      attempts: 5,
      eventId: EVENT_ID,
      replayedFrom: null,
    });
  });

  it('takes the event id from the value, falls back to the event-id header, and has none for a value that is not an event', () => {
    expect(toDeadLetterRecord(deadLetter({ value: Buffer.from('{"id":"from-value"}') })).eventId).toBe('from-value');
    expect(toDeadLetterRecord(deadLetter({ value: Buffer.from('not json') })).eventId).toBe(EVENT_ID);
    const typedByHand = deadLetter({ value: Buffer.from('not json'), key: null, headers: { [DeadLetterHeaders.ErrorKind]: 'not_json' } });
    expect(toDeadLetterRecord(typedByHand)).toMatchObject({ eventId: null, originalTopic: null, attempts: null, errorKind: 'not_json' });
  });
});

describe('formatting', () => {
  it('shows position, original coordinates, kind, attempts, failed-at, event id and message of a dead letter', () => {
    const text = formatDeadLetter(toDeadLetterRecord(deadLetter()));
    expect(text).toBe(
      [
        'payment.dlq/2@17  order.created[4]@1203  handler_error  attempts 5  2026-11-22T10:00:01.000Z',
        `  event ${EVENT_ID}  group payment  key order-1`,
        '  order order-1 is unknown',
      ].join('\n'),
    );
  });

  it('keeps long or multi-line error messages on one bounded line', () => {
    const text = formatDeadLetter(toDeadLetterRecord(deadLetter({ extraHeaders: { [DeadLetterHeaders.ErrorMessage]: `a\nb ${'x'.repeat(1000)}` } })));
    const last = text.split('\n')[2];
    expect(last.startsWith('  a b xxx')).toBe(true);
    expect(last.length).toBeLessThanOrEqual(302);
  });

  it('ends a listing with the count per error kind, and says so when there is nothing', () => {
    const records = [deadLetter(), deadLetter({ offset: '18', extraHeaders: { [DeadLetterHeaders.ErrorKind]: 'not_json' } })].map(toDeadLetterRecord);
    expect(formatDeadLetterList('payment.dlq', records).split('\n').pop()).toBe('payment.dlq: 2 dead letters (handler_error 1, not_json 1)');
    expect(formatDeadLetterList('payment.dlq', [])).toBe('payment.dlq: no dead letters');
  });
});

describe('choosing what to replay', () => {
  const other = '6e8a0c2d-4f1b-4d5e-9a7c-1e3b5d7f9a88';
  const records = [
    deadLetter({ offset: '10' }),
    deadLetter({ offset: '11', value: Buffer.from(JSON.stringify({ id: other })), extraHeaders: { 'event-id': other } }),
    // The same event dead-lettered again later (replayed before its cause was fixed).
    deadLetter({ offset: '12', extraHeaders: { [DeadLetterHeaders.FailedAt]: '2026-11-22T11:00:00.000Z' } }),
    deadLetter({
      offset: '13',
      value: Buffer.from('not json'),
      headers: { [DeadLetterHeaders.ErrorKind]: 'not_json', [DeadLetterHeaders.OriginalTopic]: 'order.created' },
    }),
  ].map(toDeadLetterRecord);

  it('--id picks the latest dead letter of that event only', () => {
    const { replay, skipped } = selectForReplay(records, { id: EVENT_ID });
    expect(replay.map((r) => r.offset)).toEqual(['12']);
    expect(skipped.map((s) => s.record.offset)).toEqual(['10']);
  });

  it('--all picks one dead letter per event and skips values without an event id', () => {
    const { replay, skipped } = selectForReplay(records, { all: true });
    expect(replay.map((r) => r.offset).sort()).toEqual(['11', '12']);
    expect(skipped.map((s) => [s.record.offset, s.why.split(' ')[0]])).toEqual([
      ['10', 'a'],
      ['13', 'no'],
    ]);
  });

  it('--id of an unknown event selects nothing', () => {
    expect(selectForReplay(records, { id: 'nope' })).toEqual({ replay: [], skipped: [] });
  });
});

describe('the replayed message', () => {
  it('goes to the original topic with the original key and value, without dlq-* headers, with dlq-replayed-from', () => {
    const record = toDeadLetterRecord(deadLetter({ extraHeaders: { [REPLAYED_FROM_HEADER]: 'payment.dlq/0@1' } }));
    const message = replayMessage(record);
    expect(message.topic).toBe('order.created');
    expect(message.key).toBe('order-1');
    expect(Buffer.from(message.value).equals(record.value!)).toBe(true);
    expect(message.headers).toEqual({ 'event-id': EVENT_ID, 'correlation-id': 'corr-1', [REPLAYED_FROM_HEADER]: 'payment.dlq/2@17' });
  });

  it('keeps a missing key missing', () => {
    expect(replayMessage(toDeadLetterRecord(deadLetter({ key: null }))).key).toBeNull();
  });
});

describe('naming, times and values of a dead letter', () => {
  it('names a dead letter by its place in the dead-letter topic', () => {
    expect(deadLetterId(toDeadLetterRecord(deadLetter()))).toBe('payment.dlq/2@17');
  });

  it('takes the failure time from dlq-failed-at, else from the record timestamp, and filters by it', () => {
    const record = toDeadLetterRecord(deadLetter());
    expect(failedAtOf(record).toISOString()).toBe('2026-11-22T10:00:01.000Z');
    const typedByHand = toDeadLetterRecord(deadLetter({ timestamp: String(Date.parse('2026-11-22T09:00:00Z')), headers: {} }));
    expect(failedAtOf(typedByHand).toISOString()).toBe('2026-11-22T09:00:00.000Z');
    expect(matchesFilter(record, { since: new Date('2026-11-22T10:00:00Z') })).toBe(true);
    expect(matchesFilter(typedByHand, { since: new Date('2026-11-22T10:00:00Z') })).toBe(false);
    expect(matchesFilter(record, { group: 'order' })).toBe(false);
  });

  it('pretty-prints a JSON value and keeps any other value as raw text', () => {
    expect(valueText(Buffer.from('{"a":{"b":1}}'))).toEqual({ json: true, text: '{\n  "a": {\n    "b": 1\n  }\n}' });
    expect(valueText(Buffer.from('not json'))).toEqual({ json: false, text: 'not json' });
    expect(valueText(null)).toEqual({ json: false, text: '' });
  });

  it('shows what the console recorded for each letter and counts the waiting ones', () => {
    const records = [deadLetter(), deadLetter({ offset: '18' }), deadLetter({ offset: '19' })].map(toDeadLetterRecord);
    const actions = new Map<string, DeadLetterAction>([
      ['payment.dlq/2@17', { letterId: 'payment.dlq/2@17', action: 'replayed', operator: 'ops', note: 'order exists now', at: '2026-11-22T11:00:00.000Z' }],
      ['payment.dlq/2@18', { letterId: 'payment.dlq/2@18', action: 'discarded', operator: 'ops', note: null, at: '2026-11-22T11:01:00.000Z' }],
    ]);
    const text = formatDeadLetterList('payment.dlq', records, actions);
    expect(text).toContain('  replayed by ops at 2026-11-22T11:00:00.000Z: order exists now');
    expect(text).toContain('  discarded by ops at 2026-11-22T11:01:00.000Z');
    expect(text.split('\n').pop()).toBe('payment.dlq: 3 dead letters (handler_error 3); waiting 1, replayed 1, discarded 1');
  });
});
