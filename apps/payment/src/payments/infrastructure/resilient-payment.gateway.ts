import { MAX_REASON_LENGTH } from '@lib/events';
import { DependencyUnavailableError } from '@lib/messaging';
import { Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { AuthorizationRequest, GatewayRejectedError, GatewayUnavailableError, PaymentDecision, PaymentGateway } from '../domain/payment';

export interface ResilienceSettings {
  timeoutMs: number;
  retries: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
}

/**
 * Wraps a gateway adapter with, from the inside out: a timeout per call,
 * bounded retries with exponential backoff, and a circuit breaker (opossum).
 * What the adapter's outcome means for the order:
 *
 * - a refusal ({@link GatewayRejectedError}) is an answer: the payment is
 *   declined with the gateway's reason (shortened to what `payment.failed`
 *   allows — never a reason to dead-letter). Not retried; it does not count
 *   against the breaker.
 * - unavailable ({@link GatewayUnavailableError}, or no answer within the
 *   timeout), after its retries, or the breaker open: not a fault of the
 *   order. `authorize` throws `DependencyUnavailableError`, the consumer
 *   waits and tries the same order again later; nothing is declined or
 *   dead-lettered because the provider is down.
 * - any other error is of no known class: not retried here and not counted
 *   by the breaker (one odd order must not stop all payments); it reaches
 *   the consumer as a handler error, retried within its attempts and then
 *   dead-lettered, and the orders behind it are paid.
 */
export class ResilientPaymentGateway implements PaymentGateway {
  private readonly log = new Logger('PaymentGateway');
  private readonly breaker: CircuitBreaker<[AuthorizationRequest], PaymentDecision>;

  constructor(
    private readonly inner: PaymentGateway,
    private readonly settings: ResilienceSettings,
  ) {
    this.breaker = new CircuitBreaker((request: AuthorizationRequest) => this.withRetries(request), {
      timeout: false, // each try has its own timeout below
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: 10_000,
      volumeThreshold: 5,
      // Only unavailability opens the breaker; refusals and unknown errors are about one order.
      errorFilter: (error: unknown) => !(error instanceof GatewayUnavailableError),
    });
    this.breaker.on('open', () => this.log.warn(`circuit breaker OPEN: payment gateway calls suspended for ${settings.resetTimeoutMs} ms`));
    this.breaker.on('halfOpen', () => this.log.log('circuit breaker HALF-OPEN: trying the payment gateway again'));
    this.breaker.on('close', () => this.log.log('circuit breaker CLOSED: payment gateway is healthy'));
  }

  /** `closed`, `open` or `half-open`, for health and metrics. */
  state(): 'closed' | 'open' | 'half-open' {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async authorize(request: AuthorizationRequest): Promise<PaymentDecision> {
    try {
      return await this.breaker.fire(request);
    } catch (error) {
      if (error instanceof GatewayRejectedError) return { approved: false, reason: shortenReason(error.reason) };
      // Open, or half-open with its one trial call in flight: the breaker refused the call without asking the gateway.
      if (this.breaker.opened || isBreakerRefusal(error))
        throw new DependencyUnavailableError('payment gateway', 'payment gateway unavailable: circuit breaker is open');
      if (error instanceof GatewayUnavailableError) throw new DependencyUnavailableError('payment gateway', `payment gateway unavailable: ${error.message}`);
      const message = error instanceof Error ? error.message : JSON.stringify(error);
      throw new Error(`payment gateway failed with an error of no known class: ${message}`, { cause: error });
    }
  }

  /** A void with the same timeout and retries; a provider that does not confirm it is an unavailable dependency (the request waits and is tried again). */
  async voidPayment(request: AuthorizationRequest): Promise<void> {
    const inner = this.inner;
    if (!inner.voidPayment) throw new Error('the payment gateway adapter cannot void payments');
    for (let attempt = 0; ; attempt++) {
      try {
        return await withTimeout(inner.voidPayment(request), this.settings.timeoutMs);
      } catch (error) {
        if (attempt >= this.settings.retries)
          throw new DependencyUnavailableError('payment gateway', `payment gateway unavailable: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private async withRetries(request: AuthorizationRequest): Promise<PaymentDecision> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withTimeout(this.inner.authorize(request), this.settings.timeoutMs);
      } catch (error) {
        // Only unavailability may pass by asking again; a refusal is an answer, an unknown error is the consumer's to retry.
        if (!(error instanceof GatewayUnavailableError) || attempt >= this.settings.retries) throw error;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
}

/** opossum's own refusals: the breaker is open (or half-open and busy with its trial call), or its concurrency limit is reached. */
function isBreakerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EOPENBREAKER' || code === 'ESEMLOCKED';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayUnavailableError(`payment gateway did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A gateway's reason as `payment.failed` carries it: at most MAX_REASON_LENGTH characters, the cut marked with an ellipsis. */
export function shortenReason(reason: string): string {
  const trimmed = reason.trim() || 'declined_by_gateway';
  return trimmed.length <= MAX_REASON_LENGTH ? trimmed : `${trimmed.slice(0, MAX_REASON_LENGTH - 1)}…`;
}
