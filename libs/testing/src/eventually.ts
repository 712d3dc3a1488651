import { pollUntil, PollOptions } from '@lib/infra';

export { StopWaiting } from '@lib/infra';

/** Options of {@link eventually}: deadline, interval, what to accept, what is waited for. */
export type EventuallyOptions<T> = PollOptions<T>;

/**
 * Polls `probe` until it returns a value that `accept` likes (default: truthy),
 * or fails after `timeoutMs` (default 30 s) with the last value (or error)
 * seen; a probe that throws `StopWaiting` ends the wait at once. Tests,
 * benches and test support wait for outcomes this way, never with fixed
 * sleeps or loops of their own. (The same wait as the tooling's `pollUntil`.)
 */
export const eventually: <T>(probe: () => T | Promise<T>, options?: EventuallyOptions<T>) => Promise<T> = pollUntil;

/** A name no other test run uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
