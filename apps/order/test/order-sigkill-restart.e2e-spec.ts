import { AppProcess, eventually, orderRequest, paymentCompleted, privateBroker, startSystem, System } from '@lib/testing';

jest.setTimeout(300_000);

/**
 * A restarted order instance used to serve nothing — not even
 * `/health/live` — until its consumer had joined the group, which after a
 * crash waits for the dead member's session to expire; and the eager
 * rebalance that follows pauses every member of the group. Here two order
 * instances share the group, one is SIGKILLed and started again at once,
 * while orders placed on the surviving one keep being paid (the test plays
 * the payment app). The figures (time to liveness, to the first 201, the
 * survivors' longest pause) are printed for docs/reliability.md — once with
 * the default (join at once: the group cannot finish the rebalance the
 * restarted instance starts until the dead member's session expires, and the
 * survivors stop meanwhile) and once with CONSUMER_JOIN_DELAY_MS at the
 * session timeout.
 */
describe('order app: one of two instances SIGKILLed and restarted while orders keep coming', () => {
  let system: System<AppProcess>;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-sigkill-restart',
      kafka: privateBroker({ port: 28262 }),
      processes: { order: 2 },
      env: { LOG_LEVEL: 'warn' },
    });
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const placeOrder = async (instance: AppProcess) => {
    const response = await fetch(`${instance.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderRequest()),
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status !== 201) throw new Error(`POST /orders on ${instance.name}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string; totalAmount: number };
  };

  /** Places an order on `instance` and pays it, one after the other, until stopped; remembers when and on which partition each was paid. */
  const traffic = (instance: AppProcess) => {
    const paid: Paid[] = [];
    let stopping = false;
    const producer = system.producer();
    const loop = (async () => {
      while (!stopping) {
        const order = await placeOrder(instance);
        const [{ partition }] = await producer.publish(paymentCompleted({ orderId: order.id, amount: order.totalAmount }));
        paid.push({ id: order.id, at: Date.now(), partition: `payment.completed[${partition}]` });
      }
    })();
    return {
      paid,
      stop: async () => {
        stopping = true;
        await loop;
      },
    };
  };

  /** Seconds from payment to CONFIRMED of each order, from the order table (this machine's clock, as `paid`). */
  const settleSeconds = async (paid: Paid[]) => {
    const { rows } = await system
      .sql('order')
      .query<{ id: string; status: string; updated: number }>(
        `SELECT id, status, extract(epoch FROM updated_at) * 1000 AS updated FROM orders WHERE id = ANY($1::uuid[])`,
        [paid.map((p) => p.id)],
      );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return paid.map((p) => ({
      ...p,
      status: byId.get(p.id)?.status,
      settledAt: Number(byId.get(p.id)?.updated),
      seconds: (Number(byId.get(p.id)?.updated) - p.at) / 1000,
    }));
  };

  /** The partitions of payment.completed `instances` hold, from their /health. */
  const partitionsOf = async (instances: AppProcess[]) => {
    const held = await Promise.all(
      instances.map((instance) =>
        eventually(() => fetch(`${instance.url}/health`).then((r) => r.json() as Promise<{ info?: { consumer?: { assigned?: string[] } } }>), {
          accept: (h) => (h.info?.consumer?.assigned ?? []).length > 0,
          timeoutMs: 30_000,
          what: `the assignment of ${instance.name}`,
        }),
      ),
    );
    return new Set(held.flatMap((h) => h.info!.consumer!.assigned!.filter((p) => p.startsWith('payment.completed['))));
  };

  /**
   * Orders placed on the first survivor and paid, `killed` SIGKILLed and
   * started again at once; resolves once every order settled, having
   * printed the figures. Asserts the restarted instance served before its
   * consumer joined.
   */
  const killAndRestart = async (killed: AppProcess, survivors: AppProcess[], label: string) => {
    const flow = traffic(survivors[0]);
    await eventually(() => flow.paid.length, { accept: (n) => n >= 20, timeoutMs: 60_000, what: '20 orders paid before the kill' });
    // The survivors' orders are the ones that should keep settling.
    const survivorPartitions = await partitionsOf(survivors);

    expect(await killed.kill('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    const starting = killed.start(); // resolves once /health is 200: the consumer has joined
    let joinedAt = 0;
    void starting.then(() => (joinedAt = Date.now()));
    await eventually(() => fetch(`${killed.url}/health/live`, { signal: AbortSignal.timeout(2000) }), {
      accept: (r) => r.status === 200,
      intervalMs: 50,
      timeoutMs: 60_000,
      what: 'the restarted instance live',
    });
    const liveAfterMs = Date.now() - killedAt;
    await eventually(() => placeOrder(killed), { intervalMs: 50, timeoutMs: 60_000, what: 'the restarted instance taking an order' });
    const ordersAfterMs = Date.now() - killedAt;
    const servedBeforeJoin = joinedAt === 0;
    await starting;
    const joinedAfterMs = joinedAt - killedAt;

    // Orders keep coming through the rebalances; then every one of them settles.
    const paidAtJoin = flow.paid.length;
    await eventually(() => flow.paid.length, { accept: (n) => n >= paidAtJoin + 40, timeoutMs: 120_000, what: '40 orders paid after the join' });
    await flow.stop();
    const settled = await eventually(() => settleSeconds(flow.paid), {
      accept: (all) => all.every((o) => o.status === 'CONFIRMED'),
      timeoutMs: 120_000,
      what: `all ${flow.paid.length} orders confirmed`,
    });
    const afterKill = settled.filter((o) => o.at >= killedAt);
    const own = afterKill.filter((o) => survivorPartitions.has(o.partition));
    const moved = afterKill.filter((o) => !survivorPartitions.has(o.partition));
    // The survivors' pause: the longest time in which none of their own partitions' orders was confirmed, from the kill on.
    const ownSettles = own.map((o) => o.settledAt).sort((x, y) => x - y);
    const pause = Math.max(...[killedAt, ...ownSettles].map((t, i, all) => (i === 0 ? 0 : t - all[i - 1]))) / 1000;
    console.log(
      `${label}: restarted instance /health/live 200 after ${(liveAfterMs / 1000).toFixed(1)} s, first 201 after ${(ordersAfterMs / 1000).toFixed(1)} s, ` +
        `consumer joined after ${(joinedAfterMs / 1000).toFixed(1)} s. Orders paid after the kill on the survivors' partitions ` +
        `(${[...survivorPartitions].join(', ')}): ${summarize(own)}, longest gap between two of their confirmations ${pause.toFixed(2)} s; ` +
        `on the killed instance's partitions: ${summarize(moved)}`,
    );
    expect(servedBeforeJoin).toBe(true);
    expect(settled.every((o) => o.status === 'CONFIRMED')).toBe(true);
  };

  it('serves /health/live and POST /orders on the restarted instance before its consumer joins, and every order settles', async () => {
    const [killed, survivor] = system.instances('order');
    await killAndRestart(killed, [survivor], 'joining at once (default)');
  });

  it('with CONSUMER_JOIN_DELAY_MS at the session timeout, the restarted instance joins only after the group dropped its dead member', async () => {
    const delayed = await system.addInstance('order', { env: { CONSUMER_JOIN_DELAY_MS: '10000' } });
    await killAndRestart(
      delayed,
      system.instances('order').filter((i) => i !== delayed),
      'joining after CONSUMER_JOIN_DELAY_MS=10000',
    );
  });
});

interface Paid {
  id: string;
  at: number;
  partition: string;
}

/** Count, median and longest settle time of some orders. */
function summarize(orders: { seconds: number }[]): string {
  if (orders.length === 0) return 'none';
  const sorted = orders.map((o) => o.seconds).sort((x, y) => x - y);
  return `${sorted.length} settled in median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s, longest ${sorted[sorted.length - 1].toFixed(2)} s`;
}
