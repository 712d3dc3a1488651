import { EventType, EventTypes } from './event-types';

/**
 * Topic names. A topic is named after the event type it carries, so one
 * constant serves as both; the Kafka key of every event is the order id.
 * Derived from `EventTypes` so that adding a type adds its topic.
 */
export const Topics: typeof EventTypes = EventTypes;

/** A topic that carries events (as opposed to a dead-letter topic). */
export type Topic = (typeof Topics)[keyof typeof Topics];

/** The apps of the system; each owns a dead-letter topic `<app>.dlq`. */
export const Apps = ['order', 'payment', 'notification'] as const;
/** The name of one app; also the `source` of the events it publishes. */
export type AppName = (typeof Apps)[number];

/** Dead-letter topic of an app: where the messages it cannot handle go, with the reason. */
export function deadLetterTopic(app: AppName): string {
  return `${app}.dlq`;
}

/**
 * The topic an event of `type` is published to. Topic = type (ADR 0002): one
 * topic per type keeps consumers subscribing to exactly what they handle, and
 * per-order ordering comes from the key, not from sharing a topic.
 */
export function topicFor(type: EventType): Topic {
  // Topics is EventTypes, so the identity is checked by the compiler, not assumed.
  return type;
}

/** Every topic that carries events. */
export const EVENT_TOPICS: readonly Topic[] = Object.values(Topics);
/** Every dead-letter topic, one per app. */
export const DEAD_LETTER_TOPICS: readonly string[] = Apps.map(deadLetterTopic);
/** Every topic of the contract, created up front by `npm run infra:up`. */
export const ALL_TOPICS: readonly string[] = [...EVENT_TOPICS, ...DEAD_LETTER_TOPICS];
