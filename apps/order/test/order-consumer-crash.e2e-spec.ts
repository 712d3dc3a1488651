import { ConsumerRunner } from '@lib/kafka';
import { eventually, HttpClient, InProcessApp, orderRequest, paymentCompleted, privateBroker, startSystem, System } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { orderService } from '../src/order.definition';
import { OrderModule } from '../src/order.module';

jest.setTimeout(240_000);

/** The order app's consumer group (the app's name). */
const GROUP = 'order';

/**
 * kafkajs restarts a crashed consumer only when the cause is retriable. A
 * broker that refuses the group for good — here GROUP_MAX_SIZE_REACHED
 * (non-retriable), on a broker whose `group.max.size` is 1 while another
 * member holds the one place — crashes it with `restart: false`, and the
 * process used to live on without a consumer, every probe green. The runtime
 * restarts it with backoff instead, counts the restarts, and gives up
 * ('failed', `/health/live` 503, so a supervisor restarts the process) only
 * after more crashes than CONSUMER_RESTART_MAX within the window.
 */
describe('order app whose consumer crashes in a way kafkajs does not restart (group full: GROUP_MAX_SIZE_REACHED)', () => {
  let system: System<InProcessApp>;
  let order: InProcessApp;
  let http: HttpClient;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-consumer-crash',
      kafka: privateBroker({ port: 28242, extraProperties: { 'group.max.size': '1' } }),
      inProcess: { order: { module: OrderModule, definition: orderService } },
      env: { LOG_LEVEL: 'error' },
    });
    order = system.instance('order');
    http = system.http('order');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  /** Another member of the order app's group, holding its one place (it reads a topic nobody writes to). */
  const occupyGroup = async () => {
    const squatter = new ConsumerRunner(
      { brokers: system.brokers, clientId: `squatter-${randomUUID()}` },
      { groupId: GROUP, topics: ['order.dlq'], partitionsConsumedConcurrently: 1, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, fromBeginning: false },
    );
    await squatter.start(async () => 'done');
    await eventually(() => squatter.status().state, { accept: (s) => s === 'joined', timeoutMs: 30_000, what: 'the squatter joined group order' });
    return squatter;
  };

  const liveConsumer = async () => {
    const response = await http.get('/health/live');
    const body = response.body as { info?: { consumer?: LiveDetail }; error?: { consumer?: LiveDetail } };
    return { status: response.status, consumer: (body.info?.consumer ?? body.error?.consumer)! };
  };

  const placeOrder = async () => (await http.post('/orders').send(orderRequest()).expect(201)).body as { id: string; totalAmount: number };

  it('restarts the crashed consumer with backoff, reports the restarts, and handles the next event once it can join', async () => {
    await order.stop();
    const squatter = await occupyGroup();
    try {
      await order.start({
        readyPath: '/health/live',
        env: { CONSUMER_RESTART_INITIAL_DELAY_MS: '500', CONSUMER_RESTART_MAX_DELAY_MS: '2000', CONSUMER_RESTART_MAX: '1000' },
      });
      // HTTP serves while the consumer crashes; the payment waits on its topic.
      const placed = await placeOrder();
      await system.producer().publish(paymentCompleted({ orderId: placed.id, amount: placed.totalAmount }));

      const crashing = await eventually(liveConsumer, {
        accept: (l) => l.consumer.restarts >= 2,
        timeoutMs: 60_000,
        what: 'at least two restarts of the crashed consumer',
      });
      expect(crashing.status).toBe(200); // restarting is not dead: liveness stays green
      const details = await http.get('/health');
      expect(details.status).toBe(503);
      expect(JSON.stringify(details.body)).toContain('max size');
      expect(seriesValue((await http.get('/metrics').expect(200)).text, 'consumer_restarts_total', 'by="runtime"')).toBeGreaterThanOrEqual(2);
    } finally {
      await squatter.stop();
    }

    // The place is free: the next restart joins, and the waiting event is handled.
    const joined = await eventually(liveConsumer, {
      accept: (l) => l.consumer.state === 'joined',
      timeoutMs: 60_000,
      what: 'the consumer joined after a restart',
    });
    expect(joined.status).toBe(200);
    const next = await placeOrder();
    await system.producer().publish(paymentCompleted({ orderId: next.id, amount: next.totalAmount }));
    await eventually(async () => (await http.get(`/orders/${next.id}`)).body.status as string, {
      accept: (s) => s === 'CONFIRMED',
      timeoutMs: 30_000,
      what: `order ${next.id} confirmed after the restart`,
    });
    await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, timeoutMs: 30_000, what: 'healthy again' });
  });

  it('fails /health/live once the consumer crashed more often than CONSUMER_RESTART_MAX allows', async () => {
    await order.stop();
    const squatter = await occupyGroup();
    try {
      await order.start({
        readyPath: '/health/live',
        env: { CONSUMER_RESTART_INITIAL_DELAY_MS: '200', CONSUMER_RESTART_MAX_DELAY_MS: '200', CONSUMER_RESTART_MAX: '2' },
      });
      const dead = await eventually(liveConsumer, { accept: (l) => l.status === 503, timeoutMs: 60_000, what: '/health/live failing' });
      expect(dead.consumer.state).toBe('failed');
      expect(dead.consumer.restarts).toBe(2);
      expect(dead.consumer.message).toContain('could not be restarted');
      expect(dead.consumer.message).toContain('max size');
      // Readiness is about the HTTP API, which still serves.
      await http.get('/health/ready').expect(200);
    } finally {
      await squatter.stop();
    }
  });
});

interface LiveDetail {
  status: string;
  state: string;
  restarts: number;
  message?: string;
}

/** The value of the series of `name` whose labels include `label` (e.g. `by="runtime"`) in a Prometheus text exposition; NaN when absent. */
function seriesValue(exposition: string, name: string, label: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}
