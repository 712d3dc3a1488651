import { EventType } from './event-types';
import { AppName } from './topics';

/**
 * Which app publishes each event. Publishing is an `events.publish(...)` call
 * deep in a use case, so this one table states it; the AsyncAPI document and
 * the secured broker's ACLs (each app may write exactly these topics) are
 * derived from it.
 */
export const EVENT_PUBLISHERS: Readonly<Record<EventType, AppName>> = {
  'order.created': 'order',
  'order.confirmed': 'order',
  'order.cancelled': 'order',
  'payment.completed': 'payment',
  'payment.failed': 'payment',
  'payment.void-requested': 'order',
  'payment.voided': 'payment',
};

/**
 * Which events each app consumes (its consumer group, named after the app,
 * subscribes to their topics). test/event-subscriptions.spec.ts holds this
 * table against the apps' `@EventPattern` handlers, so it cannot drift from
 * what they subscribe to; the AsyncAPI document and the secured broker's ACLs
 * (each app may read exactly these topics) are derived from it.
 */
export const EVENT_SUBSCRIPTIONS: Readonly<Record<AppName, readonly EventType[]>> = {
  order: ['payment.completed', 'payment.failed'],
  payment: ['order.created', 'payment.void-requested'],
  notification: ['order.cancelled', 'order.confirmed', 'order.created', 'payment.failed', 'payment.voided'],
};

/** The event types `app` publishes. */
export function publishedBy(app: AppName): EventType[] {
  return (Object.entries(EVENT_PUBLISHERS) as [EventType, AppName][]).filter(([, publisher]) => publisher === app).map(([type]) => type);
}
