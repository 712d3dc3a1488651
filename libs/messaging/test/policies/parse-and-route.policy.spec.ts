import { orderCreated } from '@lib/testing';
import { parseDelivery, routeEvent } from '../../src';

const event = orderCreated();

describe('parseDelivery', () => {
  it('turns a valid value into its event', () => {
    expect(parseDelivery({ value: Buffer.from(JSON.stringify(event)) })).toEqual({ ok: true, event });
  });

  it.each([
    ['not json', 'not_json'],
    ['{"foo":1}', 'not_envelope'],
    [JSON.stringify({ ...event, type: 'order.shipped' }), 'unknown_type'],
    [JSON.stringify({ ...event, data: { ...event.data, totalAmount: -1 } }), 'invalid_data'],
  ])('refuses %s at once, with the parse stage as the dead-letter kind and no attempt made', (value, kind) => {
    const parsed = parseDelivery({ value: Buffer.from(value) });
    expect(parsed).toMatchObject({ ok: false, reason: { kind, attempts: 0 } });
    expect(parsed.ok === false && parsed.reason.message.length).toBeGreaterThan(0);
  });

  it('refuses a message without a value', () => {
    expect(parseDelivery({ value: null })).toMatchObject({ ok: false, reason: { kind: 'not_json', attempts: 0 } });
  });
});

describe('routeEvent', () => {
  const handlers = new Map([['order.created', 'onOrderCreated']]);
  const handlerFor = (pattern: string) => handlers.get(pattern);

  it('routes an event on its own topic (after the prefix) to its handler', () => {
    expect(routeEvent({ topic: 'order.created' }, event, '', handlerFor)).toEqual({ ok: true, handler: 'onOrderCreated' });
    expect(routeEvent({ topic: 'test.run-1.order.created' }, event, 'test.run-1.', handlerFor)).toEqual({ ok: true, handler: 'onOrderCreated' });
  });

  it('refuses an event on a topic that is not its type as unexpected_type', () => {
    expect(routeEvent({ topic: 'payment.completed' }, event, '', handlerFor)).toEqual({
      ok: false,
      reason: { kind: 'unexpected_type', message: 'an order.created event does not belong on topic payment.completed', attempts: 0 },
    });
  });

  it('refuses an event nobody handles as unexpected_type', () => {
    expect(routeEvent({ topic: 'order.created' }, event, '', () => undefined)).toMatchObject({
      ok: false,
      reason: { kind: 'unexpected_type', message: 'no handler for order.created' },
    });
  });
});
