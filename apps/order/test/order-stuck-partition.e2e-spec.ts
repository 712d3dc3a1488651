import { eventually, HttpClient, InProcessApp, orderRequest, paymentCompleted, privateBroker, startSystem, System } from '@lib/testing';
import { Client } from 'pg';
import { orderService } from '../src/order.definition';
import { OrderModule } from '../src/order.module';

jest.setTimeout(180_000);

const STUCK_SECONDS = 5;

/**
 * A handler blocked on a row lock used to hold its partition for ever —
 * and, as kafkajs fetches again only once every batch of a fetch is done,
 * every other partition too — while readiness stayed green. With a lock
 * timeout the blocked message is tried again later with only its partition
 * paused, and a partition with no progress is named in the health check.
 */
describe('order app while a row of one order is locked from psql', () => {
  let system: System<InProcessApp>;
  let http: HttpClient;
  let locker: Client;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-stuck',
      kafka: privateBroker({ port: 28212 }),
      inProcess: { order: { module: OrderModule, definition: orderService } },
      env: { DATABASE_LOCK_TIMEOUT_MS: '1000', CONSUMER_STUCK_PARTITION_SECONDS: String(STUCK_SECONDS), LOG_LEVEL: 'error' },
    });
    http = system.http('order');
    locker = new Client({ connectionString: system.databaseUrl('order') });
    await locker.connect();
  }, 120_000);

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await system?.stop();
  }, 60_000);

  const placeOrder = async () =>
    (await http.post('/orders').send(orderRequest()).expect(201)).body as {
      id: string;
      totalAmount: number;
    };
  const statusOf = async (id: string) => (await http.get(`/orders/${id}`)).body.status as string;

  it('settles orders on other partitions and names the stuck partition in /health and the consumer_stuck_partitions gauge within the threshold', async () => {
    const producer = system.producer();
    const locked = await placeOrder();
    await locker.query('BEGIN');
    await locker.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [locked.id]);
    const [{ partition: lockedPartition }] = await producer.publish(paymentCompleted({ orderId: locked.id, amount: locked.totalAmount }));
    const lockedAt = Date.now();

    // Orders paid after it, until one is on another partition.
    let other: { id: string; partition: number } | undefined;
    for (let i = 0; i < 20 && !other; i++) {
      const order = await placeOrder();
      const [{ partition }] = await producer.publish(paymentCompleted({ orderId: order.id, amount: order.totalAmount }));
      if (partition !== lockedPartition) other = { id: order.id, partition };
    }
    expect(other).toBeDefined();
    await eventually(() => statusOf(other!.id), {
      accept: (s) => s === 'CONFIRMED',
      timeoutMs: 30_000,
      what: `order ${other!.id} on partition ${other!.partition} confirmed`,
    });

    const stuck = `payment.completed[${lockedPartition}]`;
    const health = await eventually(() => http.get('/health'), {
      // In the consumer check's failure, not merely anywhere (the partitions an instance holds are listed too).
      accept: (r) => JSON.stringify((r.body as { error?: { consumer?: unknown } }).error?.consumer ?? {}).includes(stuck),
      timeoutMs: (STUCK_SECONDS + 15) * 1000,
      what: `/health naming ${stuck}`,
    });
    const reportedAfterMs = Date.now() - lockedAt;
    console.log(`stuck partition ${stuck} named in /health ${(reportedAfterMs / 1000).toFixed(1)} s after the lock (threshold ${STUCK_SECONDS} s)`);
    expect(health.status).toBe(503);
    expect((health.body as { error: { consumer: { message: string } } }).error.consumer.message).toContain(`no progress on ${stuck}`);
    expect(await statusOf(locked.id)).toBe('PENDING');
    // The same partition, by label, in the gauge an alert reads.
    const metrics = (await http.get('/metrics').expect(200)).text;
    expect(stuckGauge(metrics)).toEqual([{ topic: 'payment.completed', partition: String(lockedPartition), value: 1 }]);

    // Released, the order settles, and the partition is no longer reported.
    await locker.query('ROLLBACK');
    await eventually(() => statusOf(locked.id), { accept: (s) => s === 'CONFIRMED', timeoutMs: 30_000, what: 'the locked order confirmed once released' });
    await eventually(() => http.get('/health'), { accept: (r) => r.status === 200, timeoutMs: 30_000, what: 'healthy again' });
    expect(stuckGauge((await http.get('/metrics').expect(200)).text)).toEqual([]);
  });
});

/** The series of the `consumer_stuck_partitions` gauge in a Prometheus text exposition. */
function stuckGauge(exposition: string): { topic: string; partition: string; value: number }[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith('consumer_stuck_partitions{'))
    .map((line) => {
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { topic: labels.topic, partition: labels.partition, value: Number(line.slice(line.lastIndexOf(' ') + 1)) };
    });
}
