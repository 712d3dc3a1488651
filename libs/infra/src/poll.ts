/** Options of {@link pollUntil}. */
export interface PollOptions<T> {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between two probes (default 100 ms). */
  intervalMs?: number;
  /** Whether a value is the outcome waited for (default: truthy). */
  accept?: (value: T) => boolean;
  /** What is waited for, for the error message (default `condition`). */
  what?: string;
}

/**
 * Thrown by a probe to end {@link pollUntil} at once: the outcome can no
 * longer happen (the process it waits for has exited, say), so waiting out
 * the deadline would only hide the reason.
 */
export class StopWaiting extends Error {
  override name = 'StopWaiting';
}

/**
 * Polls `probe` until it returns a value that `accept` likes (default: truthy),
 * or fails after `timeoutMs` with the last value (or error) seen. A probe that
 * throws is tried again, except with {@link StopWaiting}, which fails at once.
 *
 * The one deadline-bounded wait of the tooling (an app process becoming
 * ready); tests, benches and test support use it as `eventually` from
 * `@lib/testing`.
 */
export async function pollUntil<T>(probe: () => T | Promise<T>, options: PollOptions<T> = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100, accept = Boolean, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (error) {
      if (error instanceof StopWaiting) throw new Error(`${what} cannot happen any more: ${error.message}`);
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = lastError ? `last error: ${(lastError as Error).message}` : `last value: ${JSON.stringify(last)?.slice(0, 500)}`;
      throw new Error(`${what} not met within ${timeoutMs} ms (${seen})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
