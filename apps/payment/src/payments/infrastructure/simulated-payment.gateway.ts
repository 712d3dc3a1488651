import { AuthorizationRequest, PaymentDecision, PaymentGateway } from '../domain/payment';

export interface SimulatorSettings {
  failureRate: number;
  latencyMs: number;
}

/**
 * The default gateway: applies the contract's rule — a total above the
 * limit is declined with `limit_exceeded`, anything else is authorised —
 * and can be told to be slow or to fail, to exercise timeouts, retries and
 * the circuit breaker.
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  constructor(
    private readonly maxAmount: number,
    private settings: SimulatorSettings,
  ) {}

  configure(settings: Partial<SimulatorSettings>): SimulatorSettings {
    this.settings = { ...this.settings, ...settings };
    return this.settings;
  }

  current(): SimulatorSettings {
    return { ...this.settings };
  }

  async authorize(request: AuthorizationRequest): Promise<PaymentDecision> {
    if (this.settings.latencyMs > 0) await new Promise((r) => setTimeout(r, this.settings.latencyMs));
    if (Math.random() < this.settings.failureRate) throw new Error('simulated gateway failure');
    return request.amount > this.maxAmount ? { approved: false, reason: 'limit_exceeded' } : { approved: true };
  }
}
