import { NotificationChannel, NotificationMessage } from '../../domain/notification';

/**
 * POSTs the notification as JSON to a configured URL, with a timeout per try
 * and bounded retries with backoff (200 ms, 400 ms, …); any non-2xx answer is
 * a failure. A delivery that still fails throws, and the dispatcher tries the
 * notification again later. The receiver may see a message twice
 * (at-least-once) and can deduplicate on the `Idempotency-Key` header
 * (`<eventId>:webhook`).
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  readonly maxDeliveryMs: number;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly retries: number,
  ) {
    this.maxDeliveryMs = timeoutMs * (retries + 1) + 200 * (2 ** retries - 1);
  }

  async deliver(message: NotificationMessage, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const timeout = AbortSignal.timeout(this.timeoutMs);
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${message.eventId}:${this.name}` },
          body: JSON.stringify(message),
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        });
        if (response.ok) return;
        throw new Error(`webhook answered ${response.status}`);
      } catch (error) {
        if (attempt >= this.retries || signal?.aborted) throw new Error(`webhook delivery to ${this.url} failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }
}
