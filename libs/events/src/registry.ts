import { OrderCancelledV1 } from './data/order-cancelled.v1';
import { OrderConfirmedV1 } from './data/order-confirmed.v1';
import { OrderCreatedV1 } from './data/order-created.v1';
import { PaymentCompletedV1 } from './data/payment-completed.v1';
import { PaymentFailedV1 } from './data/payment-failed.v1';
import { PaymentVoidRequestedV1 } from './data/payment-void-requested.v1';
import { PaymentVoidedV1 } from './data/payment-voided.v1';
import { EVENT_TYPES, EventType } from './event-types';

/**
 * The `data` shape of each event type, for the versions this codebase
 * produces. When a type gains a version 2, its entry becomes `V1 | V2` and
 * consumers narrow on `event.version`.
 */
export interface EventDataMap {
  'order.created': OrderCreatedV1;
  'order.confirmed': OrderConfirmedV1;
  'order.cancelled': OrderCancelledV1;
  'payment.completed': PaymentCompletedV1;
  'payment.failed': PaymentFailedV1;
  'payment.void-requested': PaymentVoidRequestedV1;
  'payment.voided': PaymentVoidedV1;
}

/** A class whose decorators describe the `data` of one (type, version). */
export type EventDataClass<T extends EventType = EventType> = new () => EventDataMap[T];

/*
 * The one place that says which (type, version) pairs exist. Typed so that a
 * class registered under the wrong type does not compile.
 */
const REGISTRY: { readonly [T in EventType]: Readonly<Record<number, EventDataClass<T>>> } = {
  'order.created': { 1: OrderCreatedV1 },
  'order.confirmed': { 1: OrderConfirmedV1 },
  'order.cancelled': { 1: OrderCancelledV1 },
  'payment.completed': { 1: PaymentCompletedV1 },
  'payment.failed': { 1: PaymentFailedV1 },
  'payment.void-requested': { 1: PaymentVoidRequestedV1 },
  'payment.voided': { 1: PaymentVoidedV1 },
};

/** Whether `type` is one of the contract's event types (narrows to {@link EventType}). */
export function isKnownEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(REGISTRY, type);
}

/** The versions of `type` this codebase can read and write, ascending. */
export function supportedVersions(type: EventType): readonly number[] {
  return Object.keys(REGISTRY[type])
    .map(Number)
    .sort((a, b) => a - b);
}

/** The newest version of `type`: what {@link createEvent} writes unless told otherwise. */
export function latestVersion(type: EventType): number {
  const versions = supportedVersions(type);
  return versions[versions.length - 1];
}

/** The data class of (`type`, `version`), or `undefined` when that pair is not part of the contract. */
export function dataClassFor(type: string, version: number): EventDataClass | undefined {
  if (!isKnownEventType(type) || !Number.isInteger(version)) return undefined;
  const byVersion = REGISTRY[type] as Readonly<Record<number, EventDataClass>>;
  return Object.prototype.hasOwnProperty.call(byVersion, version) ? byVersion[version] : undefined;
}

/** One registered (type, version) pair with its data class. */
export interface RegisteredEvent {
  readonly type: EventType;
  readonly version: number;
  readonly dataClass: EventDataClass;
}

/** Every registered (type, version) pair, in a stable order (type order, then version). */
export function registeredEvents(): readonly RegisteredEvent[] {
  return EVENT_TYPES.flatMap((type) => supportedVersions(type).map((version) => ({ type, version, dataClass: dataClassFor(type, version)! })));
}
