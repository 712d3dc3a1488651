import { EventDataMap, InvalidEventError, assertValidEvent, buildEvent, createEvent, encodeEvent, parseEvent, validateEvent } from '@lib/events';
import { golden, goldenFixtures } from './fixtures';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const orderCreated = (): EventDataMap['order.created'] => ({
  orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01',
  customerId: 'cust-4711',
  currency: 'EUR',
  items: [{ sku: 'TSHIRT-M-BLACK', quantity: 2, unitPrice: 1250 }],
  totalAmount: 2500,
});

function thrown(fn: () => unknown): InvalidEventError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidEventError) return err;
    throw err;
  }
  throw new Error('expected InvalidEventError');
}

describe('createEvent', () => {
  it('fills in a fresh UUID v4 id, the current time, the latest version and a null causation id', () => {
    const before = Date.now();
    const event = createEvent('order.created', orderCreated(), { source: 'order', correlationId: 'req-1' });
    expect(event).toEqual({
      id: expect.stringMatching(UUID_V4),
      type: 'order.created',
      version: 1,
      occurredAt: expect.any(String),
      source: 'order',
      correlationId: 'req-1',
      causationId: null,
      data: orderCreated(),
    });
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(event.occurredAt).toMatch(/Z$/);
  });

  it('gives every event its own id', () => {
    const meta = { source: 'order', correlationId: 'req-1' } as const;
    expect(createEvent('order.created', orderCreated(), meta).id).not.toBe(createEvent('order.created', orderCreated(), meta).id);
  });

  it('keeps the id, time, causation id and version it is given', () => {
    const event = createEvent(
      'payment.completed',
      { orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01', paymentId: 'a7e3b1c9-2d4f-4e6a-b8c0-1d3f5a7b9c11', amount: 2500, currency: 'EUR' },
      {
        source: 'payment',
        correlationId: 'c0ffee00-0000-4000-8000-000000000001',
        causationId: '0b8e6f7a-3c2d-4e1f-9a8b-7c6d5e4f3a21',
        id: '5d1c9e2b-7a4f-4b6e-8c3d-2e1f0a9b8c72',
        occurredAt: new Date('2026-11-22T10:00:00.412Z'),
        version: 1,
      },
    );
    expect(event).toMatchObject({
      id: '5d1c9e2b-7a4f-4b6e-8c3d-2e1f0a9b8c72',
      occurredAt: '2026-11-22T10:00:00.412Z',
      causationId: '0b8e6f7a-3c2d-4e1f-9a8b-7c6d5e4f3a21',
      version: 1,
    });
  });

  it('reproduces every golden fixture from its parts', () => {
    for (const { text } of goldenFixtures()) {
      const fixture = JSON.parse(text);
      const { type, data, ...meta } = fixture;
      expect(createEvent(type, data, meta)).toEqual(fixture);
    }
  });

  it('creates events that consumers parse back unchanged', () => {
    const event = createEvent('order.created', orderCreated(), { source: 'order', correlationId: 'req-1' });
    expect(parseEvent(encodeEvent(event))).toEqual({ ok: true, event });
  });

  it('copies the data, so later changes to the caller object do not reach the event', () => {
    const data = orderCreated();
    const event = createEvent('order.created', data, { source: 'order', correlationId: 'req-1' });
    (data.items[0] as { quantity: number }).quantity = 999;
    expect(event.data.items[0].quantity).toBe(2);
  });

  it('throws InvalidEventError with code INVALID_EVENT and every violation when the data is wrong', () => {
    const data = { ...orderCreated(), currency: 'euro', totalAmount: -5 };
    const error = thrown(() => createEvent('order.created', data, { source: 'order', correlationId: 'req-1' }));
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('INVALID_EVENT');
    expect(error.violations).toEqual(['data.currency must be an ISO 4217 currency code in upper case, e.g. EUR', 'data.totalAmount must not be less than 0']);
    expect(error.message).toBe(`Invalid event: ${error.violations.join('; ')}`);
  });

  it('rejects unknown data fields, because a new field needs a new version', () => {
    const data = { ...orderCreated(), note: 'gift' } as EventDataMap['order.created'];
    const error = thrown(() => createEvent('order.created', data, { source: 'order', correlationId: 'req-1' }));
    expect(error.violations).toEqual(['data.note is not an allowed field']);
  });

  it.each([
    [{ correlationId: '' }, 'correlationId should not be empty'],
    [{ source: 'billing' }, 'source must be one of the following values: order, payment, notification'],
    [{ version: 3 }, 'order.created has no version 3 (supported: 1)'],
    [{ id: 'evt-1' }, 'id must be a UUID'],
    [{ occurredAt: 'yesterday' }, 'occurredAt must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z'],
    [{ occurredAt: new Date('nonsense') }, 'occurredAt is an invalid Date'],
  ])('rejects bad meta %p', (override, violation) => {
    const meta = { source: 'order', correlationId: 'req-1', ...override } as Parameters<typeof createEvent>[2];
    expect(thrown(() => createEvent('order.created', orderCreated(), meta)).violations).toEqual([violation]);
  });

  it('rejects data that cannot be written as JSON', () => {
    const data = { ...orderCreated(), totalAmount: 10n } as unknown as EventDataMap['order.created'];
    const error = thrown(() => createEvent('order.created', data, { source: 'order', correlationId: 'req-1' }));
    expect(error.violations[0]).toMatch(/^data cannot be written as JSON: /);
  });
});

describe('buildEvent', () => {
  it('builds the envelope createEvent would, and leaves validating it to whoever writes it', () => {
    const meta = { source: 'order', correlationId: 'req-1', id: '5d1c9e2b-7a4f-4b6e-8c3d-2e1f0a9b8c72', occurredAt: '2026-11-22T10:00:00.412Z' } as const;
    expect(buildEvent('order.created', orderCreated(), meta)).toEqual(createEvent('order.created', orderCreated(), meta));
    const invalid = buildEvent('order.created', { ...orderCreated(), currency: 'euro' }, meta);
    expect(validateEvent(invalid)).toEqual(['data.currency must be an ISO 4217 currency code in upper case, e.g. EUR']);
  });
});

describe('validateEvent and assertValidEvent', () => {
  it('find nothing wrong with a golden fixture', () => {
    for (const { text } of goldenFixtures()) {
      const event: unknown = JSON.parse(text);
      expect(validateEvent(event)).toEqual([]);
      expect(() => assertValidEvent(event)).not.toThrow();
    }
  });

  it('report envelope, type and data problems with the same sentences as parseEvent', () => {
    const bad = { ...golden('order.created.v1.json'), source: 'shop' };
    const parsed = parseEvent(JSON.stringify(bad));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(validateEvent(bad)).toEqual(parsed.error.violations);
    expect(validateEvent({ ...golden('order.created.v1.json'), type: 'order.shipped' })).toHaveLength(1);
    expect(validateEvent('not an object')).toEqual(['the value must be a JSON object, got a string']);
  });

  it('assertValidEvent throws InvalidEventError for an invalid envelope', () => {
    const bad = { ...golden('payment.failed.v1.json'), data: { ...golden('payment.failed.v1.json').data, reason: '' } };
    const error = thrown(() => assertValidEvent(bad));
    expect(error.violations).toEqual(['data.reason should not be empty']);
  });

  it('rejects a Date object as occurredAt, because the outbox stores what goes on the wire', () => {
    const bad = { ...golden('order.created.v1.json'), occurredAt: new Date() };
    expect(validateEvent(bad)).toEqual(['occurredAt must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z']);
  });
});
