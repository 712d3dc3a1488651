import { EventEnvelope, topicFor } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { DeadLetterReason } from '../dead-letter';

/** The handler a parsed event goes to, or why it goes nowhere. */
export type RoutedDelivery<H> = { ok: true; handler: H } | { ok: false; reason: DeadLetterReason };

/**
 * Routes by topic: an event's `type` must be its topic (`topicFor`, ADR 0002;
 * with the transport's topic prefix in front), and that topic must have a
 * handler. An event on the wrong topic, or one nobody handles, is dead-lettered
 * at once as `unexpected_type`: retrying would route it the same way.
 */
export function routeEvent<H>(
  message: Pick<ConsumedMessage, 'topic'>,
  event: EventEnvelope,
  topicPrefix: string,
  handlerFor: (pattern: string) => H | undefined,
): RoutedDelivery<H> {
  const pattern = topicFor(event.type);
  if (message.topic !== topicPrefix + pattern) {
    return { ok: false, reason: { kind: 'unexpected_type', message: `an ${event.type} event does not belong on topic ${message.topic}`, attempts: 0 } };
  }
  const handler = handlerFor(pattern);
  if (handler === undefined) return { ok: false, reason: { kind: 'unexpected_type', message: `no handler for ${message.topic}`, attempts: 0 } };
  return { ok: true, handler };
}
