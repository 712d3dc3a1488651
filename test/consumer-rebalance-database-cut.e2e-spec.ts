import { Topics } from '@lib/events';
import {
  AppProcess,
  eventually,
  privateBroker,
  startSystemWithProxiedInstances,
  steadyOrderLoad,
  System,
  SystemWithProxiedInstances,
  TcpProxy,
  TopicRecorder,
  waitForStableGroup,
} from '@lib/testing';
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
  let started: SystemWithProxiedInstances;
  let system: System<AppProcess>;
  let proxies: TcpProxy[];
  let recorder: TopicRecorder;
  let load: ReturnType<typeof steadyOrderLoad> | undefined;

  beforeAll(async () => {
    started = await startSystemWithProxiedInstances(
      { name: 'e2e-rebalance-cut', kafka: privateBroker({ port: 28372 }), processes: {}, env: { LOG_LEVEL: 'log', CONSUMER_MAX_ATTEMPTS: '100' } },
      'payment',
      2,
    );
    ({ system, proxies } = started);
    recorder = await system.record([Topics.PaymentCompleted]);
  }, 240_000);

  afterAll(async () => {
    await load?.stop();
    await started?.stop();
  }, 120_000);

  const paidOrders = () => new Set(recorder.values<{ data: { orderId: string } }>().map((event) => event.data.orderId));

  it('completes within seconds: the cut member abandons the message in hand and rejoins; every order is paid once after the heal', async () => {
    load = steadyOrderLoad(system.producer(), LOAD_INTERVAL_MS);
    await eventually(() => paidOrders().size >= 20, { timeoutMs: 60_000, what: 'payments flowing' });
    await waitForStableGroup(system, 'payment', GROUP_STABLE_MS);

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
    await load.stop();
    const produced = [...load.produced.keys()];
    await eventually(() => produced.every((orderId) => paidOrders().has(orderId)), { timeoutMs: 180_000, intervalMs: 500, what: 'every order paid' });
    const { rows } = await system
      .sql('payment')
      .query<{ orders: string; payments: string }>(`SELECT count(DISTINCT order_id) AS orders, count(*) AS payments FROM payments`);
    expect(Number(rows[0].payments)).toBe(produced.length);
    expect(Number(rows[0].orders)).toBe(produced.length);
  });
});
