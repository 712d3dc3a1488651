/**
 * `@lib/events` — the message contract between the apps: envelope, event
 * types and topics, one data class per (type, version), parsing, creation,
 * serialisation and JSON Schemas. Imports no Nest, TypeORM or kafkajs, so any
 * app, script or test can use it (ADR 0002).
 */
export * from './event-types';
export * from './topics';
export * from './event-roles';
export * from './envelope';
export * from './registry';
export * from './errors';
export * from './parse';
export * from './create';
export * from './serialize';
export * from './json-schema';
export * from './data/fields';
export * from './data/order-item.v1';
export * from './data/order-created.v1';
export * from './data/order-confirmed.v1';
export * from './data/order-cancelled.v1';
export * from './data/payment-completed.v1';
export * from './data/payment-failed.v1';
export * from './data/payment-void-requested.v1';
export * from './data/payment-voided.v1';
