import { AppName, Apps } from '@lib/events';
import { ensureAppRoles } from '@lib/infra';
import { createTestDatabase, eventually, InProcessApp, privateBroker, startSystem, System, TestDatabase, TEST_POSTGRES_URL } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(120_000);

/**
 * Done-when 4 of issue 13: each app runs with a runtime role that may read
 * and write rows and nothing else, while a role that owns the schema runs
 * the migrations; roles set up by libs/infra's `ensureAppRoles`, as
 * `npm run infra:up` does for the default databases.
 */
describe('least-privilege database roles', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const databases = new Map<AppName, TestDatabase>();
  const urls = new Map<AppName, { runtime: string; migration: string }>();
  let fresh: TestDatabase;
  let system: System<InProcessApp> | undefined;

  const withRole = (url: string, role: string) => {
    const u = new URL(url);
    u.username = role;
    u.password = `${role}-pw`;
    return u.toString();
  };
  const query = async (url: string, sql: string) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const refusal = (url: string, sql: string) =>
    query(url, sql).then(
      () => 'allowed',
      (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
    );

  beforeAll(async () => {
    for (const app of Apps) {
      const db = await createTestDatabase(`roles_${app}`);
      databases.set(app, db);
      const pair = { runtime: withRole(db.url, `${tag}_${app}_app`), migration: withRole(db.url, `${tag}_${app}_owner`) };
      urls.set(app, pair);
      await ensureAppRoles({ runtimeUrl: pair.runtime, migrationUrl: pair.migration }, { log: () => undefined });
    }
    system = await startSystem({
      name: 'e2e-roles',
      kafka: privateBroker({ port: 28132 }),
      inProcess: ALL_APPS,
      env: {
        LOG_LEVEL: 'warn',
        OUTBOX_POLL_INTERVAL_MS: '200',
        ...Object.fromEntries(
          Apps.flatMap((app) => [
            [`${app.toUpperCase()}_DATABASE_URL`, urls.get(app)!.runtime],
            [`${app.toUpperCase()}_MIGRATION_DATABASE_URL`, urls.get(app)!.migration],
          ]),
        ),
      },
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await fresh?.drop();
    for (const db of databases.values()) await db.drop();
    const roles = [...urls.values()].flatMap(({ runtime, migration }) => [new URL(runtime).username, new URL(migration).username]);
    roles.push(`${tag}_fresh_app`, `${tag}_fresh_owner`);
    for (const role of roles) await query(`${TEST_POSTGRES_URL}/postgres`, `DROP ROLE IF EXISTS "${role}"`);
  }, 60_000);

  it('runs the saga with every app on its runtime role: an order placed over HTTP is confirmed', async () => {
    const response = await system!
      .http('order')
      .post('/orders')
      .send({ customerId: 'c-roles', currency: 'EUR', items: [{ sku: 'A', quantity: 1, unitPrice: 500 }] })
      .expect(201);
    await eventually(async () => (await system!.http('order').get(`/orders/${response.body.id}`)).body.status, {
      accept: (s) => s === 'CONFIRMED',
      what: 'order confirmed',
    });
    await eventually(
      async () => (await query(urls.get('notification')!.runtime, `SELECT 1 FROM notifications WHERE order_id = '${response.body.id}'`)).rowCount,
      {
        accept: (n) => (n ?? 0) > 0,
        what: 'customer notified',
      },
    );
  });

  it.each(Apps)('lets the %s runtime role read and write rows but not CREATE, DROP, ALTER or TRUNCATE', async (app) => {
    const { runtime } = urls.get(app)!;
    const table = app === 'order' ? 'orders' : app === 'payment' ? 'payments' : 'notifications';
    expect(await refusal(runtime, `SELECT count(*) FROM ${table}`)).toBe('allowed');
    expect(await refusal(runtime, `DELETE FROM inbox WHERE event_id = '${randomUUID()}'`)).toBe('allowed');
    expect(await refusal(runtime, 'CREATE TABLE intruder (id int)')).toMatch(/^42501: permission denied for schema public/);
    expect(await refusal(runtime, `DROP TABLE ${table}`)).toMatch(/^42501: must be owner of table/);
    expect(await refusal(runtime, `ALTER TABLE ${table} ADD COLUMN intruder int`)).toMatch(/^42501: must be owner of table/);
    expect(await refusal(runtime, `TRUNCATE ${table}`)).toMatch(/^42501: permission denied for table/);
    expect(await refusal(runtime, `CREATE DATABASE ${tag}_intruder`)).toMatch(/^42501: permission denied to create database/);
  });

  it('says in one line what to set when an app runs on its runtime role with migrations pending', async () => {
    fresh = await createTestDatabase('roles_fresh');
    const runtime = withRole(fresh.url, `${tag}_fresh_app`);
    await ensureAppRoles({ runtimeUrl: runtime, migrationUrl: withRole(fresh.url, `${tag}_fresh_owner`) }, { log: () => undefined });
    const saved = { ...process.env };
    const app = new InProcessApp({
      ...ALL_APPS.order,
      name: 'order-fresh',
      env: { ORDER_DATABASE_URL: runtime, ORDER_MIGRATION_DATABASE_URL: runtime, KAFKA_BROKERS: system!.brokers.join(','), LOG_LEVEL: 'fatal' },
    });
    try {
      const error = await app.start().then(
        () => new Error('started'),
        (e: Error) => e,
      );
      expect(error.message).toBe(
        `migrations are pending and the database role "${tag}_fresh_app" may not change the schema (it is a runtime role: rows only); set ORDER_MIGRATION_DATABASE_URL to the URL of the role that owns the schema`,
      );
      expect(error.message).not.toContain(`${tag}_fresh_app-pw`);
    } finally {
      await app.stop();
      process.env = saved;
    }
  });
});
