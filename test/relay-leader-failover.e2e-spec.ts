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
  let started: SystemWithProxiedInstances;
  let system: System<AppProcess>;
  let proxies: TcpProxy[];
  let recorder: TopicRecorder;
  let load: ReturnType<typeof steadyOrderLoad> | undefined;
  /** orderId → when it was produced, over both cases. */
  const produced = new Map<string, number>();

  beforeAll(async () => {
    // One after the other: the first one started becomes the relay leader.
    started = await startSystemWithProxiedInstances(
      {
        name: 'e2e-relay-failover',
        kafka: privateBroker({ port: 29472 }),
        processes: {},
        env: { LOG_LEVEL: 'log', OUTBOX_BATCH_SIZE: String(BATCH), CONSUMER_MAX_ATTEMPTS: '100' },
      },
      'payment',
      2,
    );
    ({ system, proxies } = started);
    recorder = await system.record([Topics.PaymentCompleted]);
  }, 240_000);

  afterAll(async () => {
    await stopLoad();
    await started?.stop();
  }, 120_000);

  const startLoad = () => {
    load = steadyOrderLoad(system.producer(), LOAD_INTERVAL_MS);
  };
  const stopLoad = async () => {
    await load?.stop();
    for (const [orderId, at] of load?.produced ?? []) produced.set(orderId, at);
    load = undefined;
  };
  /** When an order was produced, in this case's load or an earlier one. */
  const producedAt = (orderId: string) => load?.produced.get(orderId) ?? produced.get(orderId);

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

  /** The lease's epoch: bumped at every change of leader. */
  const leaseEpoch = async () =>
    Number((await system.sql('payment').query<{ epoch: string }>('SELECT max(epoch) AS epoch FROM outbox_relay_lease')).rows[0].epoch ?? 0);

  /**
   * ADR 0017's bound: each change of leader republishes at most the two batches the deposed leader had sent and not
   * deleted (the one being deleted and the one in flight). A fault usually makes one change; a database that stays
   * slow after a cut can move the lease back and forth (CI saw six changes and 106 duplicates of batches of 50).
   */
  const expectWithinTwoBatchesPerLeaderChange = (duplicates: number, changes: number) => {
    process.stdout.write(`  ${changes} change(s) of relay leader\n`);
    expect(duplicates).toBeLessThanOrEqual(2 * BATCH * Math.max(1, changes));
  };

  const paidOrders = () => new Set(recorder.values<{ data: { orderId: string } }>().map((event) => event.data.orderId));

  /** Waits until a payment.completed of an order produced after `since` is on Kafka; returns when, in ms after `since`. */
  const firstPublishAfter = async (since: number, limitMs: number): Promise<number> => {
    await eventually(() => [...paidOrders()].some((orderId) => (producedAt(orderId) ?? 0) > since), {
      timeoutMs: limitMs,
      intervalMs: 100,
      what: 'a payment event of an order placed after the leader stopped',
    });
    return Date.now() - since;
  };

  /** The rows the running instances counted as published again: by a deposed leader, or acknowledged and left unmarked (database failed after the send). */
  const countedRepublished = async () => {
    let counted = 0;
    for (const instance of system.instances('payment').filter((i) => i.running)) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text();
      for (const name of ['outbox_deposed_leader_rows_total', 'outbox_unmarked_rows_total'])
        counted += Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    }
    return counted;
  };

  /**
   * Every order produced so far is paid; then the duplicates on the topic, and the rows the instances counted as
   * published again — waited for, since a woken or reconnected instance counts its late batch a moment later.
   */
  const settleAndCount = async () => {
    await stopLoad();
    await eventually(() => [...produced.keys()].every((orderId) => paidOrders().has(orderId)), {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'every order paid',
    });
    const ids = recorder.values<{ id: string }>().map((event) => event.id);
    const duplicates = ids.length - new Set(ids).size;
    const counted = await eventually(countedRepublished, { accept: (n) => n >= duplicates, timeoutMs: 30_000, what: 'every duplicate counted' }).catch(
      countedRepublished,
    );
    return { duplicates, counted };
  };

  it('frozen with SIGSTOP for 90 s under load: the other instance publishes within a minute; duplicates stay within two batches per change of leader and are counted', async () => {
    startLoad();
    await eventually(() => paidOrders().size >= 20, { timeoutMs: 60_000, what: 'payments flowing' });
    const frozen = await leader();
    const epochBefore = await leaseEpoch();
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
    process.stdout.write(`frozen leader: ${produced.size} orders, ${duplicates} duplicate payment events, ${counted} rows counted as published again\n`);
    expectWithinTwoBatchesPerLeaderChange(duplicates, (await leaseEpoch()) - epochBefore);
    expect(counted).toBeGreaterThanOrEqual(duplicates);
  });

  it('cut off from its database without a reset: the other instance publishes within a minute; duplicates stay within two batches per change of leader and are counted', async () => {
    startLoad();
    await eventually(() => paidOrders().size >= produced.size + load!.produced.size - 20, { timeoutMs: 60_000, what: 'payments flowing' });
    // The previous test's zombie rejoins the group when it wakes up. The cut is made once the group is stable,
    // so that this case measures the relay's fail-over alone (a rebalance during a cut is
    // test/consumer-rebalance-database-cut.e2e-spec.ts).
    await waitForStableGroup(system, 'payment', GROUP_STABLE_MS);
    const cut = await leader();
    const epochBefore = await leaseEpoch();
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
    process.stdout.write(`cut-off leader: ${produced.size} orders, ${duplicates} duplicate payment events, ${counted} rows counted as published again\n`);
    expectWithinTwoBatchesPerLeaderChange(duplicates, (await leaseEpoch()) - epochBefore);
    expect(counted).toBeGreaterThanOrEqual(duplicates);
  });
});
