import { deadLetterTopic, Topics } from '@lib/events';
import { AppProcess, eventually, orderCreated, privateBroker, startSystem, System, TopicRecorder } from '@lib/testing';

jest.setTimeout(300_000);

const ORDERS = 300;
/** SHUTDOWN_HTTP_DRAIN_MS + SHUTDOWN_CONSUMER_DRAIN_MS + SHUTDOWN_RELAY_FLUSH_MS as set below, plus closing the rest. */
const STOP_BOUND_MS = 3000 + 8000 + 4000 + 5000;

/**
 * Issue 11, failure 13: "graceful stop in the wrong order". The payment app
 * (it consumes order.created and publishes through its outbox) gets SIGTERM
 * while it works through a stream of orders. It must stop taking messages,
 * finish the ones in hand, publish what they committed, and only then close
 * its connections — within its bound, with nothing handled twice.
 *
 * The stream comes in two waves so that the stop lands mid-stream by
 * construction: the second wave is published once the app has logged that
 * its consumer stopped, so the restart has work left (a single wave could be
 * fetched whole before the signal and finished by the drain).
 */
describe('the payment app stopped with SIGTERM under load', () => {
  let system: System<AppProcess>;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-graceful-stop',
      kafka: privateBroker({ port: 28732 }),
      processes: { payment: 1 },
      env: {
        LOG_FORMAT: 'json',
        PAYMENT_GATEWAY_LATENCY_MS: '40',
        SHUTDOWN_HTTP_DRAIN_MS: '3000',
        SHUTDOWN_CONSUMER_DRAIN_MS: '8000',
        SHUTDOWN_RELAY_FLUSH_MS: '4000',
      },
    });
    recorder = await system.record([Topics.PaymentCompleted, Topics.PaymentFailed, deadLetterTopic('payment')]);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
  }, 120_000);

  const count = async (sql: string) => Number((await system.sql('payment').query<{ n: string }>(sql)).rows[0].n);

  it('finishes the messages in hand, publishes what they committed before it exits, exits within its bound, and handles nothing twice', async () => {
    const payment = system.instance('payment');
    const orders = Array.from({ length: ORDERS }, (_, i) => orderCreated({ totalAmount: 2000 + i }));
    const firstWave = orders.slice(0, ORDERS / 2);
    await system.producer().publish(...firstWave);
    await eventually(() => count('SELECT count(*) AS n FROM payments'), { accept: (n) => n >= 30, timeoutMs: 60_000, what: 'payments under way' });

    const started = Date.now();
    const stopping = payment.stop(60_000);
    const paidAtSignal = await count('SELECT count(*) AS n FROM payments');
    await payment.waitForLine(/shutdown: consumer (done|not done)/, { what: 'the payment app logging that its consumer stopped' });
    await system.producer().publish(...orders.slice(ORDERS / 2)); // the second wave: only the restarted app may take it
    const status = await stopping;
    const stoppedInMs = Date.now() - started;
    const paidAtExit = await count('SELECT count(*) AS n FROM payments');
    const unpublishedAtExit = await count('SELECT count(*) AS n FROM outbox');
    process.stdout.write(
      `SIGTERM under load: exited (${status}) in ${stoppedInMs} ms with ${paidAtSignal} of ${ORDERS} paid at the signal, ${paidAtExit} at the exit, ${unpublishedAtExit} outbox rows left\n`,
    );

    expect(status === 0 || status === 'SIGTERM').toBe(true); // not the SIGKILL fallback
    expect(stoppedInMs).toBeLessThan(STOP_BOUND_MS);
    expect(paidAtExit).toBeLessThanOrEqual(firstWave.length); // nothing taken after the consumer stopped
    expect(unpublishedAtExit).toBe(0); // everything committed before the exit, the drain included, was published by it
    const paymentEvents = () => recorder.messages.filter((m) => m.topic === Topics.PaymentCompleted || m.topic === Topics.PaymentFailed);
    await eventually(() => new Set(paymentEvents().map((m) => m.key?.toString())).size, {
      accept: (n) => n >= paidAtExit,
      what: 'a payment event of every payment made before the exit',
    });

    await payment.start();
    await eventually(() => count('SELECT count(*) AS n FROM payments'), {
      accept: (n) => n === ORDERS,
      timeoutMs: 90_000,
      what: 'every order paid after the restart',
    });
    await eventually(() => new Set(paymentEvents().map((m) => m.key?.toString())).size, {
      accept: (n) => n === ORDERS,
      what: 'a payment event of every order',
    });

    // Handled once: one payment event id per order (a second handling would have made a second event), no dead letters.
    const idsPerOrder = new Map<string, Set<string>>();
    for (const m of paymentEvents()) {
      const id = (JSON.parse(m.value!.toString()) as { id: string }).id;
      const key = m.key!.toString();
      idsPerOrder.set(key, (idsPerOrder.get(key) ?? new Set()).add(id));
    }
    expect([...idsPerOrder].filter(([, ids]) => ids.size !== 1)).toEqual([]);
    expect(recorder.messages.filter((m) => m.topic === deadLetterTopic('payment'))).toEqual([]);
  });
});
