import { EventEnvelope, EventHeaders, encodeEvent, eventHeaders, eventKey, parseEvent } from '@lib/events';
import { golden, goldenFixtures } from './fixtures';

const event = golden('order.created.v1.json') as EventEnvelope<'order.created'>;

describe('encodeEvent', () => {
  it('writes the envelope as UTF-8 JSON', () => {
    expect(JSON.parse(encodeEvent(event).toString('utf8'))).toEqual(event);
  });

  it('keeps non-ASCII text intact', () => {
    const withUmlaut = { ...event, correlationId: 'bestellung-müller' };
    const parsed = parseEvent(encodeEvent(withUmlaut));
    expect(parsed.ok && parsed.event.correlationId).toBe('bestellung-müller');
  });
});

describe('eventHeaders', () => {
  it('repeats id, type, version and correlation id as string headers', () => {
    expect(eventHeaders(event)).toEqual({
      'event-id': '0b8e6f7a-3c2d-4e1f-9a8b-7c6d5e4f3a21',
      'event-type': 'order.created',
      'event-version': '1',
      'correlation-id': 'c0ffee00-0000-4000-8000-000000000001',
    });
  });

  it('passes a traceparent through when one is given, and only then', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(eventHeaders(event, traceparent)[EventHeaders.Traceparent]).toBe(traceparent);
    expect(eventHeaders(event, '')).not.toHaveProperty(EventHeaders.Traceparent);
  });

  it('uses the documented header names', () => {
    expect(EventHeaders).toEqual({
      EventId: 'event-id',
      EventType: 'event-type',
      EventVersion: 'event-version',
      CorrelationId: 'correlation-id',
      Traceparent: 'traceparent',
    });
  });
});

describe('eventKey', () => {
  it('is the order id for every event type, so one order stays on one partition', () => {
    for (const { text } of goldenFixtures()) {
      const fixture = JSON.parse(text) as EventEnvelope;
      expect(eventKey(fixture)).toBe(fixture.data.orderId);
    }
  });
});
