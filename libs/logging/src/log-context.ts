import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line is about, when known: carried on every line written while handling it. */
export interface LogContext {
  correlationId?: string;
  eventId?: string;
  topic?: string;
  orderId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with these fields (added to the current ones) attached to every log line it causes. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** The fields of the request or message being handled right now, if any. */
export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
