import { DeadLetterHeaders, deadLetterHeaders } from '../../src';

describe('deadLetterHeaders', () => {
  const original = {
    topic: 'order.created',
    partition: 2,
    offset: '41',
    key: Buffer.from('order-1'),
    value: Buffer.from('not json'),
    headers: { 'event-id': 'e-1' },
  };

  it('keeps the original headers and adds where the message came from, who gave up on it and why', () => {
    const failedAt = new Date('2026-11-22T10:00:00.000Z');
    expect(deadLetterHeaders(original, 'payment', { kind: 'handler_error', message: 'boom', attempts: 5 }, failedAt)).toEqual({
      'event-id': 'e-1',
      [DeadLetterHeaders.OriginalTopic]: 'order.created',
      [DeadLetterHeaders.OriginalPartition]: '2',
      [DeadLetterHeaders.OriginalOffset]: '41',
      [DeadLetterHeaders.OriginalKey]: 'order-1',
      [DeadLetterHeaders.ConsumerGroup]: 'payment',
      [DeadLetterHeaders.ErrorKind]: 'handler_error',
      [DeadLetterHeaders.ErrorMessage]: 'boom',
      [DeadLetterHeaders.FailedAt]: '2026-11-22T10:00:00.000Z',
      [DeadLetterHeaders.Attempts]: '5',
    });
  });

  it('has no key header for a message without a key, and keeps a long reason readable', () => {
    const headers = deadLetterHeaders({ ...original, key: null }, 'payment', { kind: 'not_json', message: 'x'.repeat(10_000), attempts: 0 });
    expect(headers[DeadLetterHeaders.OriginalKey]).toBeUndefined();
    expect(headers[DeadLetterHeaders.ErrorMessage]).toHaveLength(4000);
  });
});
