import { DependencyUnavailableError } from '@lib/messaging';
import { Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { AuthorizationRequest, PaymentDecision, PaymentGateway } from '../domain/payment';

export interface ResilienceSettings {
  timeoutMs: number;
  retries: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
}

/**
 * Wraps a gateway adapter with, from the inside out: a timeout per call,
 * bounded retries with exponential backoff, and a circuit breaker (opossum).
 *
 * A gateway that fails (after its retries) or whose breaker is open is an
 * unavailable dependency, not a fault of the order: `authorize` throws
 * `DependencyUnavailableError`, the consumer runtime stops taking messages
 * from the partition and tries the same one again later. No order is
 * declined or dead-lettered because the provider is down.
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
      const reason = this.breaker.opened ? 'circuit breaker is open' : (error as Error).message;
      throw new DependencyUnavailableError('payment gateway', `payment gateway unavailable: ${reason}`);
    }
  }

  private async withRetries(request: AuthorizationRequest): Promise<PaymentDecision> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withTimeout(this.inner.authorize(request), this.settings.timeoutMs);
      } catch (error) {
        if (attempt >= this.settings.retries) throw error;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`payment gateway did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
