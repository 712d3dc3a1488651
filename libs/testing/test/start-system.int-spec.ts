import { brokerPid, isPidAlive } from '@lib/infra';
import { AppProcess, eventually, givenBrokers, privateBroker, startSystem, System, TEST_POSTGRES_URL } from '@lib/testing';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

jest.setTimeout(120_000);

/** A real process in place of an app bundle (see the fixture), so these tests need no `nest build`. */
const STAND_IN = join(__dirname, 'fixtures', 'stand-in-app.js');

/** What an instance reports at `GET /env`: its pid and the variables the system gave it. */
const envOf = async (instance: AppProcess) =>
  (await (await fetch(`${instance.url}/env`, { signal: AbortSignal.timeout(5000) })).json()) as { pid: number; env: Record<string, string> };

/** Names of the databases on the test server whose names start with `prefix`. */
async function databasesNamed(prefix: string): Promise<string[]> {
  const client = new Client({ connectionString: `${TEST_POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prefix}%`])).rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

describe('startSystem with apps as processes', () => {
  let system: System<AppProcess> | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'toolkit-logs-'));

  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  afterAll(() => rmSync(logDir, { recursive: true, force: true }));

  it("starts N instances per app, each on a port of its own with the system's brokers, databases and variables, and stop() releases them all", async () => {
    system = await startSystem({
      name: 'toolkit-procs',
      kafka: givenBrokers(),
      processes: { order: { instances: 2, bundle: STAND_IN }, payment: { bundle: STAND_IN, env: { STAND_IN_FLAVOUR: 'payment only' } } },
      env: { SUITE_VARIABLE: 'every instance' },
      logDir,
    });
    expect(system.instances().map((i) => i.name)).toEqual(['order-1', 'order-2', 'payment-1']);
    expect(new Set(system.instances().map((i) => i.port)).size).toBe(3);

    const [order1, order2] = system.instances('order');
    const payment = system.instance('payment');
    const common = {
      KAFKA_BROKERS: system.brokers.join(','),
      ORDER_DATABASE_URL: system.databaseUrl('order'),
      PAYMENT_DATABASE_URL: system.databaseUrl('payment'),
      SUITE_VARIABLE: 'every instance',
    };
    expect((await envOf(order1)).env).toEqual({ ...common, ORDER_PORT: String(order1.port) });
    expect((await envOf(order2)).env).toEqual({ ...common, ORDER_PORT: String(order2.port) });
    expect((await envOf(payment)).env).toEqual({ ...common, PAYMENT_PORT: String(payment.port), STAND_IN_FLAVOUR: 'payment only' });
    expect(order1.lines).toContain(`stand-in order listening on ${order1.port}`);
    await system.http('payment').get('/health/ready').expect(200);

    // One more instance, with variables of its own on top of the app's.
    const added = await system.addInstance('payment', { env: { STAND_IN_EXTRA: 'just this one' } });
    expect(added.name).toBe('payment-2');
    expect((await envOf(added)).env).toMatchObject({ STAND_IN_FLAVOUR: 'payment only', STAND_IN_EXTRA: 'just this one', PAYMENT_PORT: String(added.port) });

    // Each app's database is there, and the system reads it.
    const [{ current_database: orderDb }] = (await system.sql('order').query('SELECT current_database()')).rows;
    expect(system.databaseUrl('order')).toMatch(new RegExp(`/${orderDb}$`));
    expect(await databasesNamed('test_toolkit_procs_')).toHaveLength(2);

    const pids = system.instances().map((i) => i.pid!);
    await system.stop();
    system = undefined;
    expect(pids.filter(isPidAlive)).toEqual([]);
    expect(await databasesNamed('test_toolkit_procs_')).toEqual([]);
    expect(readFileSync(join(logDir, 'order-1.log'), 'utf8')).toContain('stand-in order: SIGTERM, closing');
    expect(readdirSync(logDir).sort()).toEqual(['order-1.log', 'order-2.log', 'payment-1.log', 'payment-2.log']);
  });

  it('restarts an instance on the same port with the same variables, after a graceful stop or a SIGKILL, keeping its output lines in order', async () => {
    system = await startSystem({
      name: 'toolkit-restart',
      kafka: givenBrokers(),
      processes: { notification: { bundle: STAND_IN, env: { STAND_IN_FLAVOUR: 'kept' } } },
      logDir: false,
    });
    const instance = system.instance('notification');
    const before = await envOf(instance);

    expect(await instance.stop()).toBe(0);
    expect(instance.running).toBe(false);
    await instance.start();
    const afterStop = await envOf(instance);
    expect(afterStop.env).toEqual(before.env);
    expect(afterStop.pid).not.toBe(before.pid);

    expect(await instance.kill('SIGKILL')).toBe('SIGKILL');
    await instance.restart();
    const afterKill = await envOf(instance);
    expect(afterKill.env).toEqual(before.env);
    expect(instance.lines.filter((l) => l.startsWith('stand-in notification listening'))).toHaveLength(3);
    expect(instance.lines.indexOf('stand-in notification: SIGTERM, closing')).toBeLessThan(
      instance.lines.lastIndexOf(`stand-in notification listening on ${instance.port}`),
    );
  });

  it('freezes an instance with SIGSTOP so that it answers nothing, thaws it with SIGCONT, and still stops a frozen one gracefully', async () => {
    system = await startSystem({ name: 'toolkit-pause', kafka: givenBrokers(), processes: { order: { bundle: STAND_IN } }, logDir: false });
    const instance = system.instance('order');

    instance.pause();
    expect(instance.isPaused).toBe(true);
    await expect(fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    instance.resume();
    await eventually(async () => (await fetch(`${instance.url}/health/ready`)).status, { accept: (s) => s === 200, what: 'thawed instance answers' });

    instance.pause();
    expect(await instance.stop(5_000)).toBe(0); // thawed, then SIGTERM: not the SIGKILL fallback
  });

  it('releases what it started when setting up fails halfway — the private broker, the databases, the instances already up — and says why', async () => {
    const pidDir = mkdtempSync(join(tmpdir(), 'toolkit-pids-'));
    try {
      const starting = startSystem({
        name: 'toolkit-partial',
        kafka: privateBroker({ port: 29992 }),
        processes: {
          order: { bundle: STAND_IN, env: { STAND_IN_PID_DIR: pidDir } },
          payment: { bundle: STAND_IN, env: { STAND_IN_PID_DIR: pidDir, STAND_IN_EXIT_AT_START: '3' } },
        },
        logDir: false,
      });
      await expect(starting).rejects.toThrow(/payment-1 exited \(3\) before it was ready; its last lines:\n\s+stand-in payment: refusing to start/);

      const pids = readdirSync(pidDir).map(Number);
      expect(pids).toHaveLength(2); // order came up, payment did not
      expect(pids.filter(isPidAlive)).toEqual([]);
      expect(brokerPid('toolkit-partial')).toBeUndefined();
      expect(await databasesNamed('test_toolkit_partial_')).toEqual([]);
    } finally {
      rmSync(pidDir, { recursive: true, force: true });
    }
  });
});
