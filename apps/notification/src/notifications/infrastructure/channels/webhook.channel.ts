import { NotificationChannel, NotificationMessage } from '../../domain/notification';

/**
 * POSTs the notification as JSON to a configured URL, with a timeout per try
 * and bounded retries. A delivery that still fails throws: the consumer
 * retries the event (the notification row rolls back with it) and finally
 * dead-letters it. The receiver may see a message twice (at-least-once) and
 * can deduplicate on `eventId`.
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly retries: number,
  ) {}

  async deliver(message: NotificationMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${message.eventId}:${this.name}` },
          body: JSON.stringify(message),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (response.ok) return;
        throw new Error(`webhook answered ${response.status}`);
      } catch (error) {
        if (attempt >= this.retries) throw new Error(`webhook delivery to ${this.url} failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }
}
