import { DependencyUnavailableError } from '@lib/messaging';
import { eventually } from '@lib/testing';
import { Logger } from '@nestjs/common';
import { MAX_REASON_LENGTH } from '@lib/events';
import { AuthorizationRequest, GatewayRejectedError, GatewayUnavailableError, PaymentDecision, PaymentGateway } from '../domain/payment';
import { ResilientPaymentGateway, ResilienceSettings, shortenReason } from './resilient-payment.gateway';

/** An adapter double: answers, fails, or never answers, as the test says; counts calls. */
class ScriptedGateway implements PaymentGateway {
  calls = 0;
  behaviour: 'approve' | 'fail' | 'hang' | 'reject' | 'unknown' = 'approve';
  rejectReason = 'card_declined';
  /** Calls that fail before the behaviour applies. */
  failFirst = 0;

  async authorize(): Promise<PaymentDecision> {
    this.calls++;
    if (this.failFirst > 0) {
      this.failFirst--;
      throw new GatewayUnavailableError('provider answered 503');
    }
    if (this.behaviour === 'fail') throw new GatewayUnavailableError('provider answered 503');
    if (this.behaviour === 'reject') throw new GatewayRejectedError(this.rejectReason);
    if (this.behaviour === 'unknown') throw new TypeError('provider answered 418');
    if (this.behaviour === 'hang') return new Promise(() => undefined);
    return { approved: true };
  }
}

const request: AuthorizationRequest = {
  paymentId: '8a1f0c3e-2b4d-5e6f-8a9b-0c1d2e3f4a5b',
  orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01',
  amount: 2500,
  currency: 'EUR',
};
const settings: ResilienceSettings = { timeoutMs: 100, retries: 2, errorThresholdPercentage: 50, resetTimeoutMs: 300 };

describe('ResilientPaymentGateway', () => {
  let inner: ScriptedGateway;
  let gateway: ResilientPaymentGateway;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    inner = new ScriptedGateway();
    gateway = new ResilientPaymentGateway(inner, settings);
  });

  it("passes the adapter's decision through", async () => {
    await expect(gateway.authorize(request)).resolves.toEqual({ approved: true });
    expect(inner.calls).toBe(1);
  });

  it('retries a failing call and answers with the try that succeeded', async () => {
    inner.failFirst = 2;
    await expect(gateway.authorize(request)).resolves.toEqual({ approved: true });
    expect(inner.calls).toBe(3);
  });

  it('reports a gateway that keeps failing after its retries as an unavailable dependency, not as a fault of the order', async () => {
    inner.behaviour = 'fail';
    const error = await gateway.authorize(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe('payment gateway unavailable: provider answered 503');
    expect(inner.calls).toBe(1 + settings.retries);
  });

  it('gives up on a try that does not answer within the timeout', async () => {
    inner.behaviour = 'hang';
    const error = await gateway.authorize(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toContain('did not answer within 100 ms');
  });

  it('opens the breaker after repeated failures — calls then fail at once without reaching the adapter — and closes it after a good trial call', async () => {
    inner.behaviour = 'fail';
    for (let i = 0; i < 5; i++) await gateway.authorize(request).catch(() => undefined);
    expect(gateway.state()).toBe('open');

    const callsWhenOpen = inner.calls;
    await expect(gateway.authorize(request)).rejects.toThrow('payment gateway unavailable: circuit breaker is open');
    expect(inner.calls).toBe(callsWhenOpen);

    inner.behaviour = 'approve';
    await eventually(() => gateway.state(), { accept: (state) => state === 'half-open', timeoutMs: 5000, what: 'breaker half-open after its reset time' });
    await expect(gateway.authorize(request)).resolves.toEqual({ approved: true });
    expect(gateway.state()).toBe('closed');
  });

  it('declines on a refusal with the gateway’s reason, at once, without retrying it or counting it against the breaker', async () => {
    inner.behaviour = 'reject';
    for (let i = 0; i < 10; i++) await expect(gateway.authorize(request)).resolves.toEqual({ approved: false, reason: 'card_declined' });
    expect(inner.calls).toBe(10);
    expect(gateway.state()).toBe('closed');
  });

  it('shortens a refusal’s reason longer than payment.failed allows instead of failing on it', async () => {
    inner.behaviour = 'reject';
    inner.rejectReason = `do_not_honor ${'x'.repeat(2 * MAX_REASON_LENGTH)}`;
    const decision = await gateway.authorize(request);
    expect(decision).toEqual({ approved: false, reason: shortenReason(inner.rejectReason) });
    expect(shortenReason(inner.rejectReason)).toHaveLength(MAX_REASON_LENGTH);
  });

  it('passes an error of no known class on as a handler error (not a wait), without retrying it or opening the breaker', async () => {
    inner.behaviour = 'unknown';
    for (let i = 0; i < 10; i++) {
      const error = await gateway.authorize(request).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(DependencyUnavailableError);
      expect((error as Error).message).toContain('no known class: provider answered 418');
    }
    expect(inner.calls).toBe(10);
    expect(gateway.state()).toBe('closed');
  });
});
