import { AppName, createEvent, CreateEventMeta, EventDataMap, EventEnvelope, EventType, OrderItemV1 } from '@lib/events';
import { randomUUID } from 'node:crypto';

/**
 * One factory per event type: a valid event (built and validated by
 * `createEvent`, exactly as an app would publish it) with every field
 * overridable. Tests state only what they care about; the rest is a fresh
 * order id, a fresh correlation id, EUR and 25.00.
 *
 * `meta` takes the envelope fields of `createEvent` (all optional here: the
 * source defaults to the app that publishes the type) and `causedBy`, the
 * event being reacted to, whose id becomes the causation id and whose
 * correlation id is carried over, as a handler does.
 */
export type EventMeta = Partial<CreateEventMeta> & { causedBy?: EventEnvelope };

/** The app that publishes each event type (architecture: services table). */
const PUBLISHER: Record<EventType, AppName> = {
  'order.created': 'order',
  'order.confirmed': 'order',
  'order.cancelled': 'order',
  'payment.completed': 'payment',
  'payment.failed': 'payment',
  'payment.void-requested': 'order',
  'payment.voided': 'payment',
};

const DEFAULT_ITEMS: readonly OrderItemV1[] = [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }];
const DEFAULT_AMOUNT = 2500;
const CURRENCY = 'EUR';

function build<T extends EventType>(type: T, data: EventDataMap[T], meta: EventMeta): EventEnvelope<T> {
  const { causedBy, ...rest } = meta;
  return createEvent(type, data, {
    source: PUBLISHER[type],
    correlationId: causedBy?.correlationId ?? `corr-${randomUUID()}`,
    causationId: causedBy?.id ?? null,
    ...rest,
  });
}

/**
 * `order.created`. The total and the lines agree unless told otherwise: only
 * `totalAmount` given → one line of quantity 1 worth that total; only `items`
 * given → the total is their sum; neither → 2 × 12.50.
 */
export function orderCreated(data: Partial<EventDataMap['order.created']> = {}, meta: EventMeta = {}): EventEnvelope<'order.created'> {
  const items = data.items ?? (data.totalAmount !== undefined ? [{ sku: 'SKU-1', quantity: 1, unitPrice: data.totalAmount }] : DEFAULT_ITEMS);
  return build(
    'order.created',
    {
      orderId: randomUUID(),
      customerId: 'c-1',
      currency: CURRENCY,
      totalAmount: items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0),
      ...data,
      items,
    },
    meta,
  );
}

/** `order.confirmed` of a fresh (or the given) order, with a fresh payment id. */
export function orderConfirmed(data: Partial<EventDataMap['order.confirmed']> = {}, meta: EventMeta = {}): EventEnvelope<'order.confirmed'> {
  return build('order.confirmed', { orderId: orderIdOf(meta), paymentId: randomUUID(), totalAmount: DEFAULT_AMOUNT, currency: CURRENCY, ...data }, meta);
}

/** `order.cancelled`, by default because the payment limit was exceeded. */
export function orderCancelled(data: Partial<EventDataMap['order.cancelled']> = {}, meta: EventMeta = {}): EventEnvelope<'order.cancelled'> {
  return build('order.cancelled', { orderId: orderIdOf(meta), reason: 'limit_exceeded', totalAmount: DEFAULT_AMOUNT, currency: CURRENCY, ...data }, meta);
}

/** `payment.completed`, with a fresh payment id. */
export function paymentCompleted(data: Partial<EventDataMap['payment.completed']> = {}, meta: EventMeta = {}): EventEnvelope<'payment.completed'> {
  return build('payment.completed', { orderId: orderIdOf(meta), paymentId: randomUUID(), amount: DEFAULT_AMOUNT, currency: CURRENCY, ...data }, meta);
}

/** `payment.failed`, by default because the payment limit was exceeded. */
export function paymentFailed(data: Partial<EventDataMap['payment.failed']> = {}, meta: EventMeta = {}): EventEnvelope<'payment.failed'> {
  return build(
    'payment.failed',
    { orderId: orderIdOf(meta), paymentId: randomUUID(), amount: DEFAULT_AMOUNT, currency: CURRENCY, reason: 'limit_exceeded', ...data },
    meta,
  );
}

/** `payment.void-requested` of a payment that completed for an order cancelled at its deadline. */
export function paymentVoidRequested(
  data: Partial<EventDataMap['payment.void-requested']> = {},
  meta: EventMeta = {},
): EventEnvelope<'payment.void-requested'> {
  return build(
    'payment.void-requested',
    { orderId: orderIdOf(meta), paymentId: randomUUID(), amount: DEFAULT_AMOUNT, currency: CURRENCY, reason: 'payment_timeout', ...data },
    meta,
  );
}

/** `payment.voided`, by default of a payment voided after the order's payment deadline. */
export function paymentVoided(data: Partial<EventDataMap['payment.voided']> = {}, meta: EventMeta = {}): EventEnvelope<'payment.voided'> {
  return build(
    'payment.voided',
    { orderId: orderIdOf(meta), paymentId: randomUUID(), amount: DEFAULT_AMOUNT, currency: CURRENCY, reason: 'payment_timeout', ...data },
    meta,
  );
}

/** An event caused by another one is about the same order, unless the data says otherwise. */
function orderIdOf(meta: EventMeta): string {
  return meta.causedBy?.data.orderId ?? randomUUID();
}
