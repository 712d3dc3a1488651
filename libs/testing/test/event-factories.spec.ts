import { EventTypes, validateEvent } from '@lib/events';
import { orderCancelled, orderConfirmed, orderCreated, paymentCompleted, paymentFailed } from '@lib/testing';

describe('event factories', () => {
  it('make a valid event of each type, from the app that publishes it, for a fresh order each time', () => {
    const events = [orderCreated(), orderConfirmed(), orderCancelled(), paymentCompleted(), paymentFailed()];
    for (const event of events) expect({ type: event.type, violations: validateEvent(event) }).toEqual({ type: event.type, violations: [] });
    expect(events.map((e) => [e.type, e.source])).toEqual([
      [EventTypes.OrderCreated, 'order'],
      [EventTypes.OrderConfirmed, 'order'],
      [EventTypes.OrderCancelled, 'order'],
      [EventTypes.PaymentCompleted, 'payment'],
      [EventTypes.PaymentFailed, 'payment'],
    ]);
    expect(new Set(events.map((e) => e.data.orderId)).size).toBe(events.length);
    expect(events.every((e) => e.causationId === null)).toBe(true);
  });

  it("keep an order's total and lines in agreement: one line worth a given total, or the sum of given lines", () => {
    expect(orderCreated({ totalAmount: 100_001 }).data).toMatchObject({ totalAmount: 100_001, items: [{ quantity: 1, unitPrice: 100_001 }] });
    const items = [
      { sku: 'A', quantity: 2, unitPrice: 899 },
      { sku: 'B', quantity: 1, unitPrice: 1250 },
    ];
    expect(orderCreated({ items }).data).toMatchObject({ totalAmount: 3048, items });
    expect(orderCreated().data).toMatchObject({ totalAmount: 2500, currency: 'EUR' });
  });

  it('take any field and envelope value given', () => {
    const event = paymentFailed(
      { orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01', amount: 7, reason: 'late' },
      { correlationId: 'by-hand', occurredAt: '2026-11-22T10:00:00.000Z' },
    );
    expect(event).toMatchObject({
      correlationId: 'by-hand',
      occurredAt: '2026-11-22T10:00:00.000Z',
      data: { orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01', amount: 7, reason: 'late', currency: 'EUR' },
    });
  });

  it('continue the order, correlation and causation of the event they are caused by, as a handler does', () => {
    const created = orderCreated();
    const failed = paymentFailed({}, { causedBy: created });
    const cancelled = orderCancelled({}, { causedBy: failed });
    for (const [event, cause] of [
      [failed, created],
      [cancelled, failed],
    ] as const) {
      expect(event).toMatchObject({ correlationId: created.correlationId, causationId: cause.id, data: { orderId: created.data.orderId } });
    }
  });

  it('refuse what the contract refuses, like createEvent', () => {
    expect(() => orderCreated({ currency: 'euro' })).toThrow(/currency/);
  });
});
