import { AppProcess, eventually, privateBroker, startSystem, System, TcpProxy } from '@lib/testing';
import { Client } from 'pg';

jest.setTimeout(300_000);

const POOL_SIZE = 4;
/** What the app may hold open on its database: its pool, the relay's session and the backlog gauge's one connection. */
const MAX_CONNECTIONS = POOL_SIZE + 2;
const PROBES = ['/health', '/health/ready', '/health/live', '/metrics'];
/** Probe loops running at once. */
const WORKERS = 12;

/**
 * A readiness probe or a metrics scrape used to be able to crash the
 * process: the backlog gauge opened a `pg.Client` per call without an
 * `'error'` listener, so a connection reset during its query was an
 * uncaught error, and a flood of probes opened a backend each. Here the app
 * runs as its own process (with the exit-on-unexpected-error handlers of its
 * `main.ts`) behind a TCP proxy to PostgreSQL, and is probed and scraped
 * from many loops while its backends are terminated, its connections cut,
 * and then blackholed.
 */
describe('order app probed and scraped while its database connections are cut', () => {
  let system: System<AppProcess>;
  let order: AppProcess;
  let proxy: TcpProxy;
  let admin: Client;
  let database: string;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-probes-db-cut',
      kafka: privateBroker({ port: 28252 }),
      processes: { order: { instances: 0 } },
      env: { DATABASE_POOL_SIZE: String(POOL_SIZE), LOG_LEVEL: 'warn' },
    });
    const url = new URL(system.databaseUrl('order'));
    database = url.pathname.slice(1);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    order = await system.addInstance('order', { env: { ORDER_DATABASE_URL: proxy.proxied(system.databaseUrl('order')) } });
    // Straight to the server, not through the proxy.
    admin = new Client({ connectionString: system.databaseUrl('order'), application_name: 'test-admin' });
    await admin.connect();
  }, 240_000);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await system?.stop();
    await proxy?.stop();
  }, 60_000);

  /** The app's backends on its database (everything but this test's own connection). */
  const appBackends = async () =>
    Number(
      (await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows[0].n,
    );

  /** Probes `order` from {@link WORKERS} loops until `stop()`; `answered` counts answers and refusals. */
  const hammer = () => {
    let stopping = false;
    const seen = { answered: 0, statuses: {} as Record<string, number> };
    const loops = Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = worker; !stopping; i++) {
        let outcome: string;
        try {
          const response = await fetch(`${order.url}${PROBES[i % PROBES.length]}`, { signal: AbortSignal.timeout(15_000) });
          await response.arrayBuffer();
          outcome = String(response.status);
        } catch (error) {
          outcome = (error as Error).name;
        }
        seen.statuses[outcome] = (seen.statuses[outcome] ?? 0) + 1;
        seen.answered++;
      }
    });
    const answeredAtLeast = (n: number, what: string) => eventually(() => seen.answered, { accept: (a) => a >= n, timeoutMs: 120_000, what });
    return {
      seen,
      /** Resolves once `n` more probes were answered (or refused) than now. */
      more: (n: number, what: string) => answeredAtLeast(seen.answered + n, `${n} more probe answers ${what}`),
      stop: async () => {
        stopping = true;
        await Promise.all(loops);
      },
    };
  };

  /** Samples `count` as often as it can until `stop()`; `max` is the highest value seen. */
  const sampleMax = (count: () => Promise<number> | number) => {
    let stopping = false;
    const sampled = { max: 0, samples: 0 };
    const loop = (async () => {
      while (!stopping) {
        sampled.max = Math.max(sampled.max, await count());
        sampled.samples++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return {
      sampled,
      stop: async () => {
        stopping = true;
        await loop;
      },
    };
  };

  const expectAliveAndRecovered = async () => {
    expect(order.running).toBe(true);
    await eventually(() => fetch(`${order.url}/health/ready`), { accept: (r) => r.status === 200, timeoutMs: 60_000, what: 'ready again' });
    expect(order.running).toBe(true);
  };

  /** Probes and scrapes before, while and after a proxy fault; the process must survive it within its connection bound. */
  const probedThrough = async (fault: string, inflict: () => unknown, heal: () => unknown): Promise<void> => {
    const probes = hammer();
    const links = sampleMax(() => proxy.connections);
    try {
      await probes.more(WORKERS, `before the connections were ${fault}`);
      await inflict();
      await probes.more(5 * WORKERS, `while ${fault}`);
      await heal();
      await probes.more(2 * WORKERS, `after the connections were ${fault}`);
    } finally {
      await probes.stop();
      await links.stop();
    }
    console.log(
      `connections ${fault}: probe outcomes ${JSON.stringify(probes.seen.statuses)}; at most ${links.sampled.max} connections through the proxy (bound ${MAX_CONNECTIONS})`,
    );
    await expectAliveAndRecovered();
    expect(links.sampled.max).toBeLessThanOrEqual(MAX_CONNECTIONS);
  };

  it('survives its backends terminated 30 times under probes and scrapes, never holding more than its pool and two connections', async () => {
    const probes = hammer();
    const backends = sampleMax(appBackends);
    try {
      for (let round = 0; round < 30; round++) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
        await probes.more(WORKERS, `after termination ${round + 1}`);
      }
    } finally {
      await probes.stop();
      await backends.stop();
    }
    console.log(
      `backends terminated 30 times: probe outcomes ${JSON.stringify(probes.seen.statuses)}; at most ${backends.sampled.max} app backends in ${backends.sampled.samples} samples (bound ${MAX_CONNECTIONS})`,
    );
    await expectAliveAndRecovered();
    expect(backends.sampled.max).toBeLessThanOrEqual(MAX_CONNECTIONS);
  });

  it('survives its connections reset and refused under probes and scrapes, and serves again once the database is back', async () => {
    await probedThrough(
      'cut',
      () => proxy.cut(),
      () => proxy.restore(),
    );
  });

  it('survives its connections blackholed under probes and scrapes without opening more than its pool and two connections', async () => {
    await probedThrough(
      'blackholed',
      () => proxy.blackhole(),
      () => proxy.heal({ resetDropped: true }),
    );
  });
});
