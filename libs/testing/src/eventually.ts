/**
 * Polls `probe` until it returns a value that `accept` likes (default: truthy),
 * or fails after `timeoutMs` with the last value seen. Tests wait for outcomes
 * this way, never with fixed sleeps.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; accept?: (value: T) => boolean; what?: string } = {},
): Promise<T> {
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
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = lastError ? `last error: ${(lastError as Error).message}` : `last value: ${JSON.stringify(last)?.slice(0, 500)}`;
      throw new Error(`${what} not met within ${timeoutMs} ms (${seen})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A name no other test run uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
