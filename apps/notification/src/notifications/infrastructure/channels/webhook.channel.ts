import { NotificationChannel, NotificationMessage } from '../../domain/notification';

export interface WebhookSettings {
  /** Where to POST. Slack-style URLs carry their token in the path, so the URL itself is a secret: only {@link webhookOrigin} is ever written anywhere. */
  url: string;
  /** Per try, from sending the request to the end of the response headers. */
  timeoutMs: number;
  /** Tries after the first one, 200 ms, 400 ms, … apart. */
  retries: number;
}

/** `https://hooks.example.com` of `https://hooks.example.com/services/T0/B0/secret`: the part of a webhook URL that may be logged. */
export function webhookOrigin(url: string): string {
  try {
    const { protocol, host } = new URL(url);
    return `${protocol}//${host}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs the notification as JSON to a configured URL, with a timeout per try
 * and bounded retries with backoff (200 ms, 400 ms, …); any non-2xx answer is
 * a failure. A delivery that still fails throws, and the dispatcher tries the
 * notification again later. The receiver may see a message twice
 * (at-least-once) and can deduplicate on the `Idempotency-Key` header
 * (`<eventId>:webhook`).
 *
 * The receiver cannot turn the app against anything else: a redirect is not
 * followed (a 3xx is a failed try, so a receiver cannot bounce the POST to an
 * internal address), the response body is never read (its size costs
 * nothing; it is discarded unread), and failures are summarised by status or
 * network error code, never by echoing what the receiver sent. The URL appears
 * in messages as scheme and host only.
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  readonly maxDeliveryMs: number;
  private readonly origin: string;

  constructor(private readonly settings: WebhookSettings) {
    this.maxDeliveryMs = settings.timeoutMs * (settings.retries + 1) + 200 * (2 ** settings.retries - 1);
    this.origin = webhookOrigin(settings.url);
  }

  async deliver(message: NotificationMessage, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.post(message, signal);
        return;
      } catch (error) {
        if (attempt >= this.settings.retries || signal?.aborted)
          throw new Error(`webhook delivery to ${this.origin} failed: ${summarise(error, this.settings.timeoutMs)}`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  private async post(message: NotificationMessage, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const response = await fetch(this.settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${message.eventId}:${this.name}` },
      body: JSON.stringify(message),
      redirect: 'manual',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    // Never read: whatever the receiver sends back is neither buffered nor repeated.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 300 && response.status < 400) throw new Error(`webhook answered ${response.status} (a redirect; redirects are not followed)`);
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  }
}

/** What went wrong, in words the operator can act on, without anything the receiver chose to send. */
function summarise(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted (the app is stopping)';
  if (e.message?.startsWith('webhook answered')) return e.message;
  const code = e.cause?.code;
  return code ? `cannot reach the receiver (${code})` : 'cannot reach the receiver';
}
