import {
  ALL_TOPICS,
  EVENT_TOPICS,
  EVENT_TYPES,
  OrderCreatedV1,
  Topics,
  dataClassFor,
  deadLetterTopic,
  isKnownEventType,
  latestVersion,
  registeredEvents,
  supportedVersions,
  topicFor,
} from '@lib/events';

describe('registry', () => {
  it('knows the seven event types of the contract', () => {
    expect(EVENT_TYPES).toEqual([
      'order.created',
      'order.confirmed',
      'order.cancelled',
      'payment.completed',
      'payment.failed',
      'payment.void-requested',
      'payment.voided',
    ]);
    for (const type of EVENT_TYPES) expect(isKnownEventType(type)).toBe(true);
  });

  it.each(['order.shipped', '', 'toString', '__proto__', 42, null])('does not know %p', (type) => {
    expect(isKnownEventType(type)).toBe(false);
  });

  it('supports version 1 of every type', () => {
    for (const type of EVENT_TYPES) {
      expect(supportedVersions(type)).toEqual([1]);
      expect(latestVersion(type)).toBe(1);
    }
  });

  it('maps (type, version) to its data class and nothing else', () => {
    expect(dataClassFor('order.created', 1)).toBe(OrderCreatedV1);
    expect(dataClassFor('order.created', 2)).toBeUndefined();
    expect(dataClassFor('order.created', 1.5)).toBeUndefined();
    expect(dataClassFor('order.shipped', 1)).toBeUndefined();
    expect(registeredEvents()).toHaveLength(7);
  });
});

describe('topics', () => {
  it('names each topic after the event type it carries', () => {
    for (const type of EVENT_TYPES) expect(topicFor(type)).toBe(type);
    expect(EVENT_TOPICS).toEqual(EVENT_TYPES);
    expect(Topics.OrderCreated).toBe('order.created');
  });

  it('lists the event topics and one dead-letter topic per app', () => {
    expect(deadLetterTopic('payment')).toBe('payment.dlq');
    expect(ALL_TOPICS).toEqual([...EVENT_TYPES, 'order.dlq', 'payment.dlq', 'notification.dlq']);
  });
});
