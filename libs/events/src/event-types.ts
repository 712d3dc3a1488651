/**
 * The event types of the contract, `<aggregate>.<past-tense-verb>`.
 * This is the single source of the names: topics are derived from it
 * (see `topics.ts`), so a type and its topic can never drift apart.
 */
export const EventTypes = {
  OrderCreated: 'order.created',
  OrderConfirmed: 'order.confirmed',
  OrderCancelled: 'order.cancelled',
  PaymentCompleted: 'payment.completed',
  PaymentFailed: 'payment.failed',
  PaymentVoidRequested: 'payment.void-requested',
  PaymentVoided: 'payment.voided',
} as const;

/** One of the event types the contract defines. */
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

/** Every event type, in a stable order (the order used for generated schemas). */
export const EVENT_TYPES: readonly EventType[] = Object.values(EventTypes);
