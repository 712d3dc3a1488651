import { deadLetterTopic } from '@lib/events';
import { ensureAppRoles, REPO_ROOT } from '@lib/infra';
import { createTestDatabase, eventually, InProcessApp, privateBroker, startSystem, System, TestDatabase, TEST_POSTGRES_URL, TopicRecorder } from '@lib/testing';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(120_000);

/**
 * Done-when 5 of issue 13: a run with known secrets — a database password
 * (a runtime role with a password), a SASL password and a webhook URL whose
 * path is a token — leaves none of them in anything the apps write: their
 * logs (stdout and stderr), their HTTP responses (health, metrics, API),
 * their dead-letter headers, and their config errors.
 */
describe('no secrets in what the apps write', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const DB_PASSWORD = `dbpw-${randomUUID()}`;
  const SASL_PASSWORD = `saslpw-${randomUUID()}`;
  const WEBHOOK_TOKEN = `hooktoken${randomUUID().replace(/-/g, '')}`;
  const SECRETS = [DB_PASSWORD, SASL_PASSWORD, WEBHOOK_TOKEN];
  const written: string[] = [];
  const restore: Array<() => void> = [];
  let database: TestDatabase;
  let system: System<InProcessApp> | undefined;
  let recorder: TopicRecorder;
  let receiver: Server;
  let webhookUrl: string;
  let runtimeUrl: string;

  /** Everything written to stdout and stderr by this process (the in-process apps) from now on, still passed through. */
  const capture = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = original as typeof stream.write));
  };
  const leaked = (text: string) => SECRETS.filter((secret) => text.includes(secret));

  beforeAll(async () => {
    capture(process.stdout);
    capture(process.stderr);
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500, { 'content-type': 'text/plain' }).end(`no thanks, your URL was ${req.url}`));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T0/B0/${WEBHOOK_TOKEN}`;

    database = await createTestDatabase('secrets_order');
    const role = (name: string) => {
      const u = new URL(database.url);
      u.username = `${tag}_${name}`;
      u.password = DB_PASSWORD;
      return u.toString();
    };
    runtimeUrl = role('app');
    await ensureAppRoles({ runtimeUrl, migrationUrl: role('owner') }, { log: () => undefined });

    system = await startSystem({
      name: 'e2e-secrets',
      kafka: privateBroker({ port: 28172 }),
      inProcess: ALL_APPS,
      env: {
        LOG_LEVEL: 'debug',
        OUTBOX_POLL_INTERVAL_MS: '200',
        ORDER_DATABASE_URL: runtimeUrl,
        ORDER_MIGRATION_DATABASE_URL: role('owner'),
        NOTIFICATION_WEBHOOK_URL: webhookUrl,
        NOTIFICATION_WEBHOOK_RETRIES: '0',
        NOTIFICATION_DELIVERY_MAX_ATTEMPTS: '1',
        NOTIFICATION_DELIVERY_RETRY_BACKOFF_MS: '50',
      },
    });
    recorder = await system.record([deadLetterTopic('notification')]);
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    restore.forEach((undo) => undo());
    await new Promise((resolve) => receiver?.close(resolve));
    await database?.drop();
    const admin = new Client({ connectionString: `${TEST_POSTGRES_URL}/postgres` });
    await admin.connect();
    for (const role of ['app', 'owner']) await admin.query(`DROP ROLE IF EXISTS "${tag}_${role}"`);
    await admin.end();
  }, 60_000);

  it('writes none of them while an order goes through and its notification is dead-lettered by a failing webhook', async () => {
    const order = await system!
      .http('order')
      .post('/orders')
      .send({ customerId: 'c-secrets', currency: 'EUR', items: [{ sku: 'A', quantity: 1, unitPrice: 700 }] })
      .expect(201);
    await eventually(async () => (await system!.http('order').get(`/orders/${order.body.id}`)).body.status, {
      accept: (s) => s === 'CONFIRMED',
      what: 'order confirmed',
    });
    const letters = await recorder.waitFor(1, (m) => m.key?.toString() === order.body.id);

    const responses: string[] = [];
    for (const app of ['order', 'payment', 'notification'] as const) {
      for (const path of ['/health/live', '/health/ready', '/health', '/metrics']) responses.push((await system!.http(app).get(path)).text);
    }
    responses.push(
      (await system!.http('order').get(`/orders/${order.body.id}`)).text,
      (await system!.http('notification').get(`/notifications?orderId=${order.body.id}`)).text,
    );
    const headers = letters.map((m) => JSON.stringify(m.headers));

    // The run did exercise the secrets' places: the receiver was named in the dead letter, by its origin.
    expect(headers.join('\n')).toContain(new URL(webhookUrl).origin);
    expect(leaked(headers.join('\n'))).toEqual([]);
    expect(leaked(responses.join('\n'))).toEqual([]);
    expect(leaked(written.join(''))).toEqual([]);
  });

  it('writes none of them in the config errors of a start with bad settings', () => {
    // A real `main.ts` start (what `nest start order` runs) that fails on its configuration.
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register', 'apps/notification/src/main.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        NOTIFICATION_DATABASE_URL: `postgress://notification_app:${DB_PASSWORD}@127.0.0.1:5432/notifications`,
        NOTIFICATION_WEBHOOK_URL: `http://hooks.example.com/services/T0/B0/${WEBHOOK_TOKEN}`,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'notification',
        KAFKA_SASL_PASSWORD: SASL_PASSWORD,
        NOTIFICATION_PORT: 'not-a-port',
      },
    });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status).toBe(1);
    expect(output).toContain('NOTIFICATION_DATABASE_URL');
    expect(output).toContain('NOTIFICATION_WEBHOOK_URL');
    expect(leaked(output)).toEqual([]);
  });
});
