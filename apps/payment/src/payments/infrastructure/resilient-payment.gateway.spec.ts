import { DependencyUnavailableError } from '@lib/messaging';
import { eventually } from '@lib/testing';
import { Logger } from '@nestjs/common';
import { AuthorizationRequest, PaymentDecision, PaymentGateway } from '../domain/payment';
import { ResilientPaymentGateway, ResilienceSettings } from './resilient-payment.gateway';

/** An adapter double: answers, fails, or never answers, as the test says; counts calls. */
class ScriptedGateway implements PaymentGateway {
  calls = 0;
  behaviour: 'approve' | 'fail' | 'hang' = 'approve';
  /** Calls that fail before the behaviour applies. */
  failFirst = 0;

  async authorize(): Promise<PaymentDecision> {
    this.calls++;
    if (this.failFirst > 0) {
      this.failFirst--;
      throw new Error('provider answered 503');
    }
    if (this.behaviour === 'fail') throw new Error('provider answered 503');
    if (this.behaviour === 'hang') return new Promise(() => undefined);
    return { approved: true };
  }
}

const request: AuthorizationRequest = { paymentId: '8a1f0c3e-2b4d-5e6f-8a9b-0c1d2e3f4a5b', orderId: '3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01', amount: 2500, currency: 'EUR' };
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

  it('passes the adapter\'s decision through', async () => {
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
});
