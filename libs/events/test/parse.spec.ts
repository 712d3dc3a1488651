import { EventParseError, encodeEvent, parseEvent, registeredEvents } from '@lib/events';
import { golden, goldenFixtures, invalidFixture, invalidFixtureNames } from './fixtures';

function failure(raw: Parameters<typeof parseEvent>[0]): EventParseError {
  const result = parseEvent(raw);
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.event)}`);
  return result.error;
}

function withData(name: string, patch: (data: Record<string, any>) => void): string {
  const event = golden(name);
  patch(event.data);
  return JSON.stringify(event);
}

describe('parseEvent', () => {
  describe('golden fixtures', () => {
    it('has one golden fixture for every registered type and version', () => {
      const names = goldenFixtures().map((f) => f.name);
      expect(names).toEqual(
        registeredEvents()
          .map((e) => `${e.type}.v${e.version}.json`)
          .sort(),
      );
    });

    it.each(goldenFixtures().map((f) => [f.name, f.text]))('accepts %s as it is', (_name, text) => {
      const result = parseEvent(Buffer.from(text, 'utf8'));
      expect(result).toEqual({ ok: true, event: JSON.parse(text) });
    });

    it.each(goldenFixtures().map((f) => [f.name, f.text]))('round-trips %s through encodeEvent and parseEvent unchanged', (_name, text) => {
      const first = parseEvent(text);
      if (!first.ok) throw first.error;
      const second = parseEvent(encodeEvent(first.event));
      expect(second).toEqual({ ok: true, event: JSON.parse(text) });
      if (second.ok) expect(encodeEvent(second.event).equals(encodeEvent(first.event))).toBe(true);
    });
  });

  it('returns plain objects, not class instances', () => {
    const result = parseEvent(JSON.stringify(golden('order.created.v1.json')));
    if (!result.ok) throw result.error;
    expect(Object.getPrototypeOf(result.event)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(result.event.data)).toBe(Object.prototype);
    if (result.event.type !== 'order.created') throw new Error('narrowing failed');
    expect(Object.getPrototypeOf(result.event.data.items[0])).toBe(Object.prototype);
  });

  it('accepts the same message as a string and as a Buffer', () => {
    const text = JSON.stringify(golden('payment.failed.v1.json'));
    expect(parseEvent(text)).toEqual(parseEvent(Buffer.from(text)));
  });

  it('accepts a value with a UTF-8 byte order mark, as some editors write it', () => {
    const text = JSON.stringify(golden('order.confirmed.v1.json'));
    const result = parseEvent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(result.ok).toBe(true);
  });

  it('accepts a correlation id that is not a UUID, as users may send their own', () => {
    expect(parseEvent(JSON.stringify({ ...golden('order.created.v1.json'), correlationId: 'my-request-42' })).ok).toBe(true);
  });

  describe('a value that is not JSON', () => {
    it.each([
      ['null', null],
      ['undefined', undefined],
      ['an empty Buffer', Buffer.alloc(0)],
      ['an empty string', ''],
      ['only whitespace', '  \n '],
    ])('reports %s as not_json', (_label, raw) => {
      const error = failure(raw as Parameters<typeof parseEvent>[0]);
      expect(error).toBeInstanceOf(EventParseError);
      expect(error).toBeInstanceOf(Error);
      expect(error.kind).toBe('not_json');
      expect(error.message).toMatch(/no value|empty/);
    });

    it('reports text that starts like JSON but is not as not_json, with the parser message', () => {
      const error = failure(invalidFixture('not-json.txt'));
      expect(error.kind).toBe('not_json');
      expect(error.message).toMatch(/^message value is not JSON: /);
      expect(error.violations).toHaveLength(1);
    });

    it('reports bytes that are not UTF-8 as not_json', () => {
      expect(failure(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])).kind).toBe('not_json');
    });

    it('reports a schema-registry framed value (leading 0x00) as not_json', () => {
      expect(failure(Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01, 0x7b, 0x7d])).kind).toBe('not_json');
    });
  });

  describe('JSON that is not an envelope', () => {
    it.each([
      ['an array', '[1, 2]', 'the value must be a JSON object, got an array'],
      ['a number', '42', 'the value must be a JSON object, got a number'],
      ['a string', '"order.created"', 'the value must be a JSON object, got a string'],
      ['null', 'null', 'the value must be a JSON object, got null'],
    ])('reports %s as not_envelope', (_label, raw, violation) => {
      const error = failure(raw);
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual([violation]);
    });

    it('lists every missing envelope field when bare data is sent', () => {
      const error = failure(invalidFixture('data-without-envelope.json'));
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual([
        'orderId is not an allowed field',
        'customerId is not an allowed field',
        'currency is not an allowed field',
        'items is not an allowed field',
        'totalAmount is not an allowed field',
        'id is missing',
        'type is missing',
        'version is missing',
        'occurredAt is missing',
        'source is missing',
        'correlationId is missing',
        'causationId is missing',
        'data is missing',
      ]);
      expect(error.message).toMatch(/^not an event envelope: orderId is not an allowed field; .*; and 3 more$/);
    });

    it('rejects a Kafka-style {key, value} object instead of unwrapping it', () => {
      const error = failure(invalidFixture('kafka-style-key-value.json'));
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual(expect.arrayContaining(['key is not an allowed field', 'value is not an allowed field', 'id is missing']));
    });

    it.each([
      ['id', 'not-a-uuid', 'id must be a UUID'],
      ['version', 0, 'version must not be less than 1'],
      ['version', 1.5, 'version must be an integer number'],
      ['version', '1', 'version must be an integer number'],
      ['occurredAt', '2026-11-22', 'occurredAt must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z'],
      ['occurredAt', '2026-11-22T10:00:00', 'occurredAt must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z'],
      ['occurredAt', '2026-02-30T10:00:00Z', 'occurredAt must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z'],
      ['source', 'billing', 'source must be one of the following values: order, payment, notification'],
      ['correlationId', '', 'correlationId should not be empty'],
      ['correlationId', 'x'.repeat(129), 'correlationId must be shorter than or equal to 128 characters'],
      ['causationId', 7, 'causationId must be a string'],
      ['data', [], 'data must be an object'],
      ['data', null, 'data must be an object'],
      ['type', '', 'type should not be empty'],
    ])('reports a bad %s (%p) as not_envelope', (field, value, violation) => {
      const error = failure(JSON.stringify({ ...golden('order.created.v1.json'), [field]: value }));
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual([violation]);
    });

    it('accepts occurredAt with an explicit offset', () => {
      const event = { ...golden('order.created.v1.json'), occurredAt: '2026-11-22T11:00:00+01:00' };
      expect(parseEvent(JSON.stringify(event)).ok).toBe(true);
    });

    it('rejects an unknown envelope field, since new metadata belongs in headers', () => {
      const error = failure(JSON.stringify({ ...golden('order.created.v1.json'), tenant: 'acme' }));
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual(['tenant is not an allowed field']);
    });

    it('reports a "__proto__" envelope field instead of letting it change the prototype', () => {
      const text = JSON.stringify(golden('order.created.v1.json')).replace(/^\{/, '{"__proto__":{"polluted":true},');
      const error = failure(text);
      expect(error.kind).toBe('not_envelope');
      expect(error.violations).toEqual(['__proto__ is not an allowed field']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('an unknown type or version', () => {
    it('reports an unregistered type as unknown_type, naming the known ones', () => {
      const error = failure(invalidFixture('unknown-type.json'));
      expect(error.kind).toBe('unknown_type');
      expect(error.violations).toEqual([
        "type 'order.shipped' is not a known event type (known: order.created, order.confirmed, order.cancelled, payment.completed, payment.failed, payment.void-requested, payment.voided)",
      ]);
    });

    it('reports an unregistered version of a known type as unknown_type, naming the supported ones', () => {
      const error = failure(invalidFixture('unsupported-version.json'));
      expect(error.kind).toBe('unknown_type');
      expect(error.violations).toEqual(['order.created has no version 2 (supported: 1)']);
    });
  });

  describe('data that breaks its class', () => {
    it('lists every problem with its full path', () => {
      const error = failure(invalidFixture('invalid-order-created-data.json'));
      expect(error.kind).toBe('invalid_data');
      expect(error.violations).toEqual([
        'data.discountCode is not an allowed field',
        'data.currency must be an ISO 4217 currency code in upper case, e.g. EUR',
        'data.items[0].quantity must not be greater than 1000',
        'data.items[1].sku should not be empty',
      ]);
      expect(error.message).toBe(`invalid data for order.created v1: ${error.violations.join('; ')}`);
    });

    it.each<[string, string, (d: Record<string, any>) => void, string[]]>([
      ['order.created.v1.json', 'a missing field', (d) => delete d.customerId, ['data.customerId is missing']],
      ['order.created.v1.json', 'no items', (d) => (d.items = []), ['data.items must have at least 1 item']],
      [
        'order.created.v1.json',
        'too many items',
        (d) => {
          d.items = Array.from({ length: 101 }, () => ({ sku: 'A', quantity: 1, unitPrice: 1 }));
          d.totalAmount = 101;
        },
        ['data.items must have at most 100 items'],
      ],
      ['order.created.v1.json', 'items that are not an array', (d) => (d.items = 'TSHIRT'), ['data.items must be an array']],
      ['order.created.v1.json', 'an item that is not an object', (d) => (d.items[1] = 5), ['data.items[1] must be an object']],
      ['order.created.v1.json', 'an item that is an empty array', (d) => (d.items[1] = []), ['data.items[1] must be an object']],
      ['order.created.v1.json', 'a zero quantity', (d) => (d.items[0].quantity = 0), ['data.items[0].quantity must not be less than 1']],
      ['order.created.v1.json', 'a fractional price', (d) => (d.items[1].unitPrice = 8.99), ['data.items[1].unitPrice must be an integer number']],
      ['order.created.v1.json', 'an unknown item field', (d) => (d.items[0].color = 'black'), ['data.items[0].color is not an allowed field']],
      ['order.created.v1.json', 'a long sku', (d) => (d.items[0].sku = 'S'.repeat(65)), ['data.items[0].sku must be shorter than or equal to 64 characters']],
      ['order.created.v1.json', 'a wrong total', (d) => (d.totalAmount = 3400), ['data.totalAmount must equal the sum of quantity * unitPrice over items']],
      ['order.created.v1.json', 'an unsafe total', (d) => (d.totalAmount = 2 ** 53), ['data.totalAmount must not be greater than 9007199254740991']],
      [
        'order.created.v1.json',
        'a currency not in ISO 4217',
        (d) => (d.currency = 'XYZ'),
        ['data.currency must be an ISO 4217 currency code in upper case, e.g. EUR'],
      ],
      ['order.created.v1.json', 'a "constructor" field', (d) => ((d as any).constructor = 1), ['data.constructor is not an allowed field']],
      ['order.confirmed.v1.json', 'a bad payment id', (d) => (d.paymentId = 'pay-1'), ['data.paymentId must be a UUID']],
      ['order.cancelled.v1.json', 'an empty reason', (d) => (d.reason = ''), ['data.reason should not be empty']],
      ['payment.completed.v1.json', 'a negative amount', (d) => (d.amount = -1), ['data.amount must not be less than 0']],
      ['payment.failed.v1.json', 'a long reason', (d) => (d.reason = 'r'.repeat(201)), ['data.reason must be shorter than or equal to 200 characters']],
      ['payment.failed.v1.json', 'a missing order id', (d) => delete d.orderId, ['data.orderId is missing']],
    ])('in %s, reports %s as invalid_data', (name, _label, patch, violations) => {
      const error = failure(withData(name, patch));
      expect(error.kind).toBe('invalid_data');
      expect(error.violations).toEqual(violations);
    });
  });

  it('never throws, whatever it is given', () => {
    for (const name of invalidFixtureNames()) {
      expect(() => parseEvent(invalidFixture(name))).not.toThrow();
    }
    for (const raw of ['{', '{}', 'true', '{"data":{}}', '\u0000']) expect(() => parseEvent(raw)).not.toThrow();
  });
});
