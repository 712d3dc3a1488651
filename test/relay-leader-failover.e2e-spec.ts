import { EventEnvelope, Topics } from '@lib/events';
import { AppProcess, eventually, orderCreated, privateBroker, startSystem, System, TcpProxy, TopicRecorder } from '@lib/testing';
import { setTimeout as delay } from 'node:timers/promises';

jest.setTimeout(600_000);

const BATCH = 50;
/** What the issue asks of fail-over: another instance publishes within a minute. */
const FAILOVER_LIMIT_MS = 60_000;
const PAUSE_MS = 90_000;
/** How long both consumers must stay joined before the cut: past the woken zombie's rejoin (a few seconds after SIGCONT). */
const GROUP_STABLE_MS = 15_000;
/** Pace of the load: one order.created every LOAD_INTERVAL_MS. */
const LOAD_INTERVAL_MS = 50;

/**
 * Issue 11, failure mode 8: a relay leader that is alive but not publishing
 * (frozen, or cut off from its database without a reset) must lose the
 * leadership of its database's outbox within a bounded time. Two payment
 * instances, each reaching PostgreSQL through a TCP proxy of its own (so one
 * can be cut off silently), under a steady stream of orders; the payment
 * events they write must keep coming out while the relay leader is frozen or
 * cut off, and the deposed leader's late batch must be fenced or counted.
 */
describe('the outbox relay leader of two payment instances', () => {
  let system: System<AppProcess>;
  let recorder: TopicRecorder;
  const proxies: TcpProxy[] = [];
  const produced = new Map<string, number>(); // orderId → when it was produced
  let load: Promise<void> | undefined;
  let loading = false;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-relay-failover',
      kafka: privateBroker({ port: 29472 }),
      processes: { payment: { instances: 0 } },
      env: { LOG_LEVEL: 'log', OUTBOX_BATCH_SIZE: String(BATCH), CONSUMER_MAX_ATTEMPTS: '100' },
    });
    const database = new URL(system.databaseUrl('payment'));
    for (let i = 0; i < 2; i++) {
      const proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
      proxies.push(proxy);
      // One after the other: the first one started becomes the relay leader.
      await system.addInstance('payment', { env: { PAYMENT_DATABASE_URL: proxy.proxied(system.databaseUrl('payment')) } });
    }
    recorder = await system.record([Topics.PaymentCompleted]);
  }, 240_000);

  afterAll(async () => {
    loading = false;
    await load;
    for (const instance of system?.instances() ?? []) if (instance.isPaused) instance.resume();
    for (const proxy of proxies) proxy.heal();
    await system?.stop();
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  }, 120_000);

  const startLoad = () => {
    loading = true;
    const producer = system.producer();
    load = (async () => {
      while (loading) {
        const order: EventEnvelope<'order.created'> = orderCreated();
        produced.set(order.data.orderId, Date.now());
        await producer.publish(order);
        await delay(LOAD_INTERVAL_MS); // the pace of the load, not a wait for an outcome
      }
    })();
  };
  const stopLoad = async () => {
    loading = false;
    await load;
  };

  /** The running instance that holds the relay's lease now (its holder names the process id), once one does. */
  const leader = async (): Promise<AppProcess> => {
    const running = system.instances('payment').filter((instance) => instance.running);
    const holder = await eventually(
      async () => {
        const { rows } = await system.sql('payment').query<{ holder: string }>('SELECT holder FROM outbox_relay_lease WHERE expires_at > clock_timestamp()');
        return running.find((instance) => rows.some((row) => row.holder.split(':')[1] === String(instance.pid)));
      },
      { accept: (found) => found !== undefined, timeoutMs: 30_000, what: 'a running payment instance holding the relay lease' },
    );
    return holder!;
  };

  /** Whether every running payment instance's consumer is a member of the group with partitions assigned. */
  const consumersJoined = async (): Promise<boolean> => {
    const running = system.instances('payment').filter((instance) => instance.running);
    const states = await Promise.all(
      running.map(async (instance) => {
        const body = (await (await fetch(`${instance.url}/health`)).json()) as { details?: { consumer?: { state?: string; assigned?: string[] } } };
        return body.details?.consumer;
      }),
    );
    return states.every((consumer) => consumer?.state === 'joined' && (consumer.assigned?.length ?? 0) > 0);
  };

  const paidOrders = () => new Set(recorder.values<{ data: { orderId: string } }>().map((event) => event.data.orderId));

  /** Waits until a payment.completed of an order produced after `since` is on Kafka; returns when, in ms after `since`. */
  const firstPublishAfter = async (since: number, limitMs: number): Promise<number> => {
    await eventually(() => [...paidOrders()].some((orderId) => (produced.get(orderId) ?? 0) > since), {
      timeoutMs: limitMs,
      intervalMs: 100,
      what: 'a payment event of an order placed after the leader stopped',
    });
    return Date.now() - since;
  };

  /** Every order produced so far is paid; then the duplicates on the topic, and the rows the instances counted as published by a deposed leader. */
  const settleAndCount = async () => {
    await stopLoad();
    await eventually(() => [...produced.keys()].every((orderId) => paidOrders().has(orderId)), {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'every order paid',
    });
    const ids = recorder.values<{ id: string }>().map((event) => event.id);
    const duplicates = ids.length - new Set(ids).size;
    let counted = 0;
    for (const instance of system.instances('payment').filter((i) => i.running)) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text();
      counted += Number(/^outbox_deposed_leader_rows_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    }
    return { duplicates, counted };
  };

  it('frozen with SIGSTOP for 90 s under load: the other instance publishes within a minute; duplicates stay within one batch and are counted', async () => {
    startLoad();
    await eventually(() => paidOrders().size >= 20, { timeoutMs: 60_000, what: 'payments flowing' });
    const frozen = await leader();
    const pausedAt = Date.now();
    frozen.pause();

    const failoverMs = await firstPublishAfter(pausedAt, FAILOVER_LIMIT_MS);
    expect(frozen.isPaused).toBe(true);
    process.stdout.write(`relay fail-over with the leader frozen: ${(failoverMs / 1000).toFixed(1)} s\n`);
    expect(failoverMs).toBeLessThan(FAILOVER_LIMIT_MS);

    // The freeze lasts 90 s, the scenario of the issue; payments keep being published meanwhile.
    await eventually(() => Date.now() - pausedAt >= PAUSE_MS, { timeoutMs: PAUSE_MS + 10_000, intervalMs: 1000, what: 'the 90 s freeze' });
    frozen.resume();

    const { duplicates, counted } = await settleAndCount();
    process.stdout.write(
      `frozen leader: ${produced.size} orders, ${duplicates} duplicate payment events, ${counted} rows counted as published by a deposed leader\n`,
    );
    expect(duplicates).toBeLessThanOrEqual(BATCH);
    expect(counted).toBeGreaterThanOrEqual(duplicates);
  });

  it('cut off from its database without a reset: the other instance publishes within a minute; duplicates stay within one batch and are counted', async () => {
    startLoad();
    await eventually(() => paidOrders().size >= produced.size - 20, { timeoutMs: 60_000, what: 'payments flowing' });
    // The previous test's zombie rejoins the group when it wakes up. A rebalance still in progress when the
    // leader is cut would wait for the cut member, stuck in its batch, for the whole rebalance timeout
    // (60 s: a known limit of the eager group protocol, see docs/reliability.md), and measure that instead.
    let stableSince = Date.now();
    await eventually(
      async () => {
        if (!(await consumersJoined())) stableSince = Date.now();
        return Date.now() - stableSince;
      },
      { accept: (stableMs) => stableMs >= GROUP_STABLE_MS, timeoutMs: 120_000, intervalMs: 500, what: 'both payment consumers joined, the group stable' },
    );
    const cut = await leader();
    const proxy = proxies[system.instances('payment').indexOf(cut)];
    const cutAt = Date.now();
    proxy.blackhole();

    const failoverMs = await firstPublishAfter(cutAt, FAILOVER_LIMIT_MS);
    expect(proxy.blackholed).toBe(true);
    process.stdout.write(`relay fail-over with the leader cut off: ${(failoverMs / 1000).toFixed(1)} s\n`);
    expect(failoverMs).toBeLessThan(FAILOVER_LIMIT_MS);

    // The network comes back (the cut connections are reset, as keepalive would): everything settles.
    proxy.heal({ resetDropped: true });
    const { duplicates, counted } = await settleAndCount();
    process.stdout.write(
      `cut-off leader: ${produced.size} orders, ${duplicates} duplicate payment events, ${counted} rows counted as published by a deposed leader\n`,
    );
    expect(duplicates).toBeLessThanOrEqual(BATCH);
    expect(counted).toBeGreaterThanOrEqual(duplicates);
  });
});
