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

/**
 * Delivers a notification on one channel (log, webhook, …). Resolves once the
 * channel accepted it; throws when delivery failed (the dispatcher retries
 * later). Called outside any database transaction, possibly more than once
 * for one notification (at-least-once): receivers deduplicate on
 * `eventId` + channel.
 */
export interface NotificationChannel {
  readonly name: string;
  /** Longest one `deliver` call can take (its own timeouts and retries included): a dispatcher's lease on a row outlasts it. */
  readonly maxDeliveryMs: number;
  /** `signal` aborts a delivery in flight when the app stops; the notification is then delivered after the restart. */
  deliver(message: NotificationMessage, signal?: AbortSignal): Promise<void>;
}

/** When a notification is tried again after failed delivery attempt `attempt` (1 = the first): doubling from `firstMs`, at most 5 minutes. */
export function redeliveryDelayMs(attempt: number, firstMs: number): number {
  return Math.min(5 * 60_000, firstMs * 2 ** Math.min(attempt - 1, 20));
}

export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');

export type NotifiableEvent = EventEnvelope<'order.created' | 'order.confirmed' | 'order.cancelled' | 'payment.failed' | 'payment.voided'>;

const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency}`;

/** What the customer is told about each event. */
export function composeMessage(event: NotifiableEvent): NotificationMessage {
  const base = { orderId: event.data.orderId, eventId: event.id, eventType: event.type, correlationId: event.correlationId };
  switch (event.type) {
    case 'order.created':
      return {
        ...base,
        subject: 'Order received',
        body: `We received your order ${event.data.orderId} of ${money(event.data.totalAmount, event.data.currency)}.`,
      };
    case 'order.confirmed':
      return {
        ...base,
        subject: 'Order confirmed',
        body: `Your order ${event.data.orderId} is confirmed; ${money(event.data.totalAmount, event.data.currency)} was charged.`,
      };
    case 'order.cancelled':
      return { ...base, subject: 'Order cancelled', body: `Your order ${event.data.orderId} was cancelled (${event.data.reason}).` };
    case 'payment.failed':
      return {
        ...base,
        subject: 'Payment declined',
        body: `The payment of ${money(event.data.amount, event.data.currency)} for order ${event.data.orderId} was declined (${event.data.reason}).`,
      };
    case 'payment.voided':
      return {
        ...base,
        subject: 'Payment refunded',
        body: `The payment of ${money(event.data.amount, event.data.currency)} for your cancelled order ${event.data.orderId} was refunded (${event.data.reason}).`,
      };
  }
}
