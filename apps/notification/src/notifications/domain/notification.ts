import { EventEnvelope } from '@lib/events';

/** A message for the customer about one event of their order. */
export interface NotificationMessage {
  orderId: string;
  eventId: string;
  eventType: string;
  /** The order's correlation id, so every channel's output can be traced back to the request. */
  correlationId: string;
  subject: string;
  body: string;
}

/** Delivers a notification on one channel (log, webhook, …). Throws when delivery failed. */
export interface NotificationChannel {
  readonly name: string;
  deliver(message: NotificationMessage): Promise<void>;
}

export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');

export type NotifiableEvent = EventEnvelope<'order.created' | 'order.confirmed' | 'order.cancelled' | 'payment.failed'>;

const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency}`;

/** What the customer is told about each event. */
export function composeMessage(event: NotifiableEvent): NotificationMessage {
  const base = { orderId: event.data.orderId, eventId: event.id, eventType: event.type, correlationId: event.correlationId };
  switch (event.type) {
    case 'order.created':
      return { ...base, subject: 'Order received', body: `We received your order ${event.data.orderId} of ${money(event.data.totalAmount, event.data.currency)}.` };
    case 'order.confirmed':
      return { ...base, subject: 'Order confirmed', body: `Your order ${event.data.orderId} is confirmed; ${money(event.data.totalAmount, event.data.currency)} was charged.` };
    case 'order.cancelled':
      return { ...base, subject: 'Order cancelled', body: `Your order ${event.data.orderId} was cancelled (${event.data.reason}).` };
    case 'payment.failed':
      return { ...base, subject: 'Payment declined', body: `The payment of ${money(event.data.amount, event.data.currency)} for order ${event.data.orderId} was declined (${event.data.reason}).` };
  }
}
