/**
 * `@lib/testing` — the one test toolkit: waiting for outcomes (`eventually`),
 * the system under test (`startSystem`: the apps in-process or as processes,
 * N instances each, a private broker, throw-away databases), one factory per
 * event type and one for a valid `POST /orders` body (`orderRequest`),
 * putting events on Kafka and recording topics, private brokers and
 * PostgreSQL servers for fault tests. For tests, benches and dev tools;
 * production code never imports it.
 */
export * from './eventually';
export * from './event-factories';
export * from './order-requests';
export * from './event-producer';
export * from './console-producer';
export * from './test-database';
export * from './app-database';
export * from './topic-recorder';
export * from './dead-letter-recorder';
export * from './private-kafka';
export * from './private-postgres';
export * from './tcp-proxy';
export { AppProcess, NodeProcess } from '@lib/infra';
export type { AppProcessOptions, ExitStatus, NodeProcessOptions, Readiness } from '@lib/infra';
export * from './system/app-instance';
export * from './system/app-bundles';
export * from './system/in-process-app';
export * from './system/ports';
export * from './system/start-system';
export * from './system/consumer-group';
export * from './browser';
