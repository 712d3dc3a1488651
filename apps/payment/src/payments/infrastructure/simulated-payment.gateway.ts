import { AuthorizationRequest, GatewayRejectedError, GatewayUnavailableError, PaymentDecision, PaymentGateway } from '../domain/payment';

export interface SimulatorSettings {
  failureRate: number;
  latencyMs: number;
}

/** What the simulator answers for one order: a refusal with a reason, or an error of no known class. */
export type ScriptedOutcome = { reject: string } | { error: string };

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

  private readonly scripted = new Map<string, ScriptedOutcome>();

  /** Makes every call for `orderId` end with `outcome` (tests, demos). */
  script(orderId: string, outcome: ScriptedOutcome): void {
    this.scripted.set(orderId, outcome);
  }

  current(): SimulatorSettings {
    return { ...this.settings };
  }

  async authorize(request: AuthorizationRequest): Promise<PaymentDecision> {
    if (this.settings.latencyMs > 0) await new Promise((r) => setTimeout(r, this.settings.latencyMs));
    const scripted = this.scripted.get(request.orderId);
    if (scripted && 'reject' in scripted) throw new GatewayRejectedError(scripted.reject);
    if (scripted) throw new Error(scripted.error);
    if (Math.random() < this.settings.failureRate) throw new GatewayUnavailableError('simulated gateway failure');
    return request.amount > this.maxAmount ? { approved: false, reason: 'limit_exceeded' } : { approved: true };
  }

  async voidPayment(): Promise<void> {
    if (this.settings.latencyMs > 0) await new Promise((r) => setTimeout(r, this.settings.latencyMs));
    if (Math.random() < this.settings.failureRate) throw new Error('simulated gateway failure');
  }
}
