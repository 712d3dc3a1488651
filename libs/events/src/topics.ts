/**
 * Topic names. A topic is named after the event type it carries, so one
 * constant serves as both; the Kafka key of every event is the order id.
 */
export const Topics = {
  OrderCreated: 'order.created',
  OrderConfirmed: 'order.confirmed',
  OrderCancelled: 'order.cancelled',
  PaymentCompleted: 'payment.completed',
  PaymentFailed: 'payment.failed',
} as const;

export type Topic = (typeof Topics)[keyof typeof Topics];

/** The apps of the system; each owns a dead-letter topic `<app>.dlq`. */
export const Apps = ['order', 'payment', 'notification'] as const;
export type AppName = (typeof Apps)[number];

/** Dead-letter topic of an app: where the messages it cannot handle go, with the reason. */
export function deadLetterTopic(app: AppName): string {
  return `${app}.dlq`;
}

export const EVENT_TOPICS: readonly Topic[] = Object.values(Topics);
export const DEAD_LETTER_TOPICS: readonly string[] = Apps.map(deadLetterTopic);
/** Every topic of the contract, created up front by `npm run infra:up`. */
export const ALL_TOPICS: readonly string[] = [...EVENT_TOPICS, ...DEAD_LETTER_TOPICS];
