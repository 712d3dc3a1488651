import { EventEnvelope, Topics } from '@lib/events';
import { AppProcess, eventually, orderCreated, privateBroker, startSystem, System, TcpProxy, TopicRecorder } from '@lib/testing';
import { setTimeout as delay } from 'node:timers/promises';

jest.setTimeout(600_000);

/** How long both consumers must stay joined before the cut: the group is stable, no rebalance in progress. */
const GROUP_STABLE_MS = 15_000;
/** Long enough for the cut instance to be stuck in a statement that gets no answer. */
const STUCK_MS = 4000;
/**
 * The bound on the rebalance: a few heartbeats (1 s each) and a join. Without
 * the fix the group waited for the cut member until its attempt's deadline
 * (CONSUMER_HANDLER_TIMEOUT_MS, 60 s), which is also kafkajs's rebalance timeout.
 */
const REBALANCE_LIMIT_MS = 30_000;
const LOAD_INTERVAL_MS = 50;

/**
 * A rebalance that begins while one member is cut off from its database
 * without a reset (its statement in flight gets no answer, no error either)
 * must not wait for that member's stuck attempt: the member learns of the
 * rebalance from its heartbeat, abandons the message in hand (uncommitted;
 * the inbox makes the redelivery a no-op) and rejoins, so the group — the
 * healthy members included — is back within seconds instead of a minute.
 */
describe('a rebalance while a payment instance is cut off from its database', () => {
  let system: System<AppProcess>;
  let recorder: TopicRecorder;
  const proxies: TcpProxy[] = [];
  const produced = new Set<string>();
  let load: Promise<void> | undefined;
  let loading = false;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-rebalance-cut',
      kafka: privateBroker({ port: 29492 }),
      processes: { payment: { instances: 0 } },
      env: { LOG_LEVEL: 'log', CONSUMER_MAX_ATTEMPTS: '100' },
    });
    const database = new URL(system.databaseUrl('payment'));
    for (let i = 0; i < 2; i++) {
      const proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
      proxies.push(proxy);
      await system.addInstance('payment', { env: { PAYMENT_DATABASE_URL: proxy.proxied(system.databaseUrl('payment')) } });
    }
    recorder = await system.record([Topics.PaymentCompleted]);
  }, 240_000);

  afterAll(async () => {
    loading = false;
    await load;
    for (const proxy of proxies) proxy.heal();
    await system?.stop();
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  }, 120_000);

  const paidOrders = () => new Set(recorder.values<{ data: { orderId: string } }>().map((event) => event.data.orderId));

  /** Whether every running payment instance's consumer is a member of the group with partitions assigned. */
  const consumersJoined = async (): Promise<boolean> => {
    const states = await Promise.all(
      system
        .instances('payment')
        .filter((instance) => instance.running)
        .map(async (instance) => {
          const body = (await (await fetch(`${instance.url}/health`)).json()) as { details?: { consumer?: { state?: string; assigned?: string[] } } };
          return body.details?.consumer;
        }),
    );
    return states.every((consumer) => consumer?.state === 'joined' && (consumer.assigned?.length ?? 0) > 0);
  };

  it('completes within seconds: the cut member abandons the message in hand and rejoins; every order is paid once after the heal', async () => {
    loading = true;
    const producer = system.producer();
    load = (async () => {
      while (loading) {
        const order: EventEnvelope<'order.created'> = orderCreated();
        produced.add(order.data.orderId);
        await producer.publish(order);
        await delay(LOAD_INTERVAL_MS); // the pace of the load, not a wait for an outcome
      }
    })();
    await eventually(() => paidOrders().size >= 20, { timeoutMs: 60_000, what: 'payments flowing' });
    let stableSince = Date.now();
    await eventually(
      async () => {
        if (!(await consumersJoined())) stableSince = Date.now();
        return Date.now() - stableSince;
      },
      { accept: (stableMs) => stableMs >= GROUP_STABLE_MS, timeoutMs: 120_000, intervalMs: 500, what: 'both payment consumers joined, the group stable' },
    );

    proxies[0].blackhole();
    await delay(STUCK_MS); // payment-1's statement in flight now waits for an answer that does not come

    // A third instance joins (straight to the database): the group rebalances while payment-1 is cut off.
    // It counts as started once its /health says its consumer joined with partitions, i.e. the rebalance is over.
    const joinStarted = Date.now();
    await system.addInstance('payment');
    const rebalanceMs = Date.now() - joinStarted;
    process.stdout.write(`rebalance with a member cut off from its database: the new member joined in ${(rebalanceMs / 1000).toFixed(1)} s\n`);
    expect(rebalanceMs).toBeLessThan(REBALANCE_LIMIT_MS);

    proxies[0].heal({ resetDropped: true });
    loading = false;
    await load;
    await eventually(() => [...produced].every((orderId) => paidOrders().has(orderId)), {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'every order paid',
    });
    const { rows } = await system
      .sql('payment')
      .query<{ orders: string; payments: string }>(`SELECT count(DISTINCT order_id) AS orders, count(*) AS payments FROM payments`);
    expect(Number(rows[0].payments)).toBe(produced.size);
    expect(Number(rows[0].orders)).toBe(produced.size);
  });
});
