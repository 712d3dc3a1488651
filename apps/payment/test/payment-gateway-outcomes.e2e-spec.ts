import { deadLetterTopic, MAX_REASON_LENGTH, Topics } from '@lib/events';
import { DeadLetterHeaders } from '@lib/messaging';
import { EventProducer, InProcessApp, orderCreated, privateBroker, startSystem, System, TopicRecorder } from '@lib/testing';
import { paymentService } from '../src/payment.definition';
import { PaymentModule } from '../src/payment.module';
import { SimulatedPaymentGateway } from '../src/payments/infrastructure/simulated-payment.gateway';

jest.setTimeout(120_000);

const MAX_ATTEMPTS = 3;

/**
 * One order the gateway always refuses used to stall every payment behind
 * it: each gateway error was "dependency unavailable", and the consumer
 * waited in place for ever. On one partition, so every order is behind the
 * one the gateway refuses.
 */
describe('payment app when the gateway always refuses one order', () => {
  let system: System<InProcessApp>;
  let recorder: TopicRecorder;
  let producer: EventProducer;
  let simulator: SimulatedPaymentGateway;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-payment-gateway-outcomes',
      kafka: privateBroker({ port: 28152, partitions: 1 }),
      inProcess: { payment: { module: PaymentModule, definition: paymentService } },
      env: {
        PAYMENT_GATEWAY_RETRIES: '1',
        CONSUMER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        CONSUMER_RETRY_BACKOFF_MS: '100',
        CONSUMER_MAX_RETRY_BACKOFF_MS: '500',
        OUTBOX_POLL_INTERVAL_MS: '100',
        LOG_LEVEL: 'warn',
      },
    });
    recorder = await system.record([Topics.PaymentCompleted, Topics.PaymentFailed, deadLetterTopic('payment')]);
    producer = system.producer();
    simulator = system.instance('payment').nest.get(SimulatedPaymentGateway);
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const forOrder = (orderId: string) => (m: { key: Buffer | null }) => m.key?.toString() === orderId;

  it('declines the order with the gateway’s reason, shortened to what payment.failed allows, and pays the order behind it', async () => {
    const refused = orderCreated({ totalAmount: 1500 });
    const behind = orderCreated({ totalAmount: 1600 });
    const reason = `card_declined: ${'the issuing bank refused the card without giving a reason '.repeat(8)}`;
    expect(reason.length).toBeGreaterThan(MAX_REASON_LENGTH);
    simulator.script(refused.data.orderId, { reject: reason });
    await producer.publish(refused, behind);

    const [failed] = await recorder.waitFor(1, forOrder(refused.data.orderId));
    expect(failed.topic).toBe(Topics.PaymentFailed);
    const declined = JSON.parse(failed.value!.toString()) as { data: { reason: string } };
    expect(declined.data.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(reason.startsWith(declined.data.reason.replace(/…$/, ''))).toBe(true);
    const [paid] = await recorder.waitFor(1, forOrder(behind.data.orderId));
    expect(paid.topic).toBe(Topics.PaymentCompleted);
    const payments = await system.sql('payment').query('SELECT status, reason FROM payments WHERE order_id = $1', [refused.data.orderId]);
    expect(payments.rows).toEqual([{ status: 'DECLINED', reason: declined.data.reason }]);
  });

  it(`dead-letters an order whose gateway call fails with an error of no known class after ${MAX_ATTEMPTS} attempts, and pays the order behind it`, async () => {
    const broken = orderCreated({ totalAmount: 1700 });
    const behind = orderCreated({ totalAmount: 1800 });
    simulator.script(broken.data.orderId, { error: 'gateway answered something this adapter does not understand' });
    await producer.publish(broken, behind);

    const [letter] = await recorder.waitFor(1, forOrder(broken.data.orderId));
    expect(letter.topic).toBe(deadLetterTopic('payment'));
    expect(letter.headers[DeadLetterHeaders.ErrorKind]).toBe('handler_error');
    expect(letter.headers[DeadLetterHeaders.Attempts]).toBe(String(MAX_ATTEMPTS));
    expect(letter.headers[DeadLetterHeaders.ErrorMessage]).toContain('does not understand');
    const [paid] = await recorder.waitFor(1, forOrder(behind.data.orderId));
    expect(paid.topic).toBe(Topics.PaymentCompleted);
    expect(simulator.current()).toMatchObject({ failureRate: 0 });
  });
});
