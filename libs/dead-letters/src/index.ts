/**
 * `@lib/dead-letters` — reading, choosing, replaying and describing the
 * dead letters of the apps' `<app>.dlq` topics. `npm run dlq` (scripts/dlq.ts)
 * and the ops console (apps/console) both use it, so they agree on what a
 * dead letter is, how it is named and what a replay sends.
 */
export * from './dead-letter-record';
export * from './dead-letter-commands';
export * from './replay-selection';
export * from './format';
export * from './console-state';
