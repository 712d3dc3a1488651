import { AppProcess, eventually, privateBroker, startSystem, System } from '@lib/testing';
import { Client } from 'pg';

jest.setTimeout(240_000);

const POOL_SIZE = 4;
/** The relay's own session (advisory lock, LISTEN) and the one connection its backlog gauge reads through. */
const RELAY_CONNECTIONS = 2;
const FLOOD_MS = 15_000;
const CONCURRENT_PROBES = 40;

/**
 * A readiness probe or a metrics scrape must not be able to crash the
 * process, nor open a database backend of its own: the outbox backlog gauge
 * both read used to open a fresh connection per call, with no error
 * listener, so a reset during its query killed the process and a flood of
 * probes opened a backend each.
 */
describe('order app under a flood of probes and scrapes while its database connections are cut', () => {
  let system: System<AppProcess>;
  let admin: Client;
  let database: string;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-probes',
      kafka: privateBroker({ port: 28112 }),
      processes: { order: 1 },
      env: { DATABASE_POOL_SIZE: String(POOL_SIZE), LOG_LEVEL: 'warn' },
    });
    database = new URL(system.databaseUrl('order')).pathname.slice(1);
    const url = new URL(system.databaseUrl('order'));
    url.pathname = '/postgres';
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
  }, 240_000);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await system?.stop();
  }, 60_000);

  const backends = async () =>
    Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1`, [database])).rows[0].n);

  it('survives, and never holds more connections than its pool and the relay’s, while probes flood it and its backends are terminated', async () => {
    const instance = system.instance('order');
    const http = system.http('order');
    const until = Date.now() + FLOOD_MS;
    let maxBackends = 0;
    let probes = 0;
    let terminations = 0;

    const flood = (async () => {
      while (Date.now() < until && instance.running) {
        await Promise.all(
          Array.from({ length: CONCURRENT_PROBES }, (_, i) =>
            http
              .get(i % 2 === 0 ? '/health/ready' : '/metrics')
              .timeout(10_000)
              .then(() => probes++)
              .catch(() => undefined),
          ),
        );
      }
    })();
    const sample = (async () => {
      while (Date.now() < until && instance.running) {
        maxBackends = Math.max(maxBackends, await backends());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const cut = (async () => {
      while (Date.now() < until && instance.running) {
        // What a failover or an administrator does to the app's sessions, the relay's and the probes' included.
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [database]);
        terminations++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await Promise.all([flood, sample, cut]);

    console.log(`probe flood: ${probes} probes answered, ${terminations} rounds of terminated backends, at most ${maxBackends} backends open`);
    expect(instance.running).toBe(true);
    expect(probes).toBeGreaterThan(CONCURRENT_PROBES);
    expect(maxBackends).toBeLessThanOrEqual(POOL_SIZE + RELAY_CONNECTIONS);
    // And it recovers: ready again once nothing cuts its connections.
    await eventually(() => http.get('/health/ready'), { accept: (r) => r.status === 200, timeoutMs: 60_000, what: 'order ready again' });
    await http.get('/health/live').expect(200);
  });
});
