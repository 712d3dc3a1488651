import { Topics } from '@lib/events';
import { validateEnv } from '@lib/service';
import { createTestDatabase, eventually, InProcessApp, paymentCompleted, privateBroker, startSystem, System, TestDatabase } from '@lib/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConsoleEnv } from '../apps/console/src/config/console.env';
import { bootstrapConsole, StartedConsole } from '../apps/console/src/console.bootstrap';
import type { AppBacklog } from '../libs/infra/src/app-backlog';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '..');
const CONSOLE_TOKEN = 'infra-status-e2e-token';

/**
 * `npm run infra:status` per app (issue 14): consumer lag from the group's
 * committed offsets and the high watermarks, dead letters waiting (in
 * `<app>.dlq`, minus those the ops console recorded as handled), and the
 * outbox backlog from the app's database — run as a user runs it, against a
 * private broker, the apps' throw-away databases and a real console.
 */
describe('npm run infra:status', () => {
  let system: System<InProcessApp>;
  let consoleDb: TestDatabase;
  let opsConsole: StartedConsole;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-infra-status',
      kafka: privateBroker({ port: 29944 }),
      inProcess: ALL_APPS,
      env: { CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_RETRY_BACKOFF_MS: '100', LOG_LEVEL: 'warn' },
    });
    consoleDb = await createTestDatabase('e2e_infra_status_console');
    const env = validateEnv(ConsoleEnv, {
      KAFKA_BROKERS: system.brokers.join(','),
      CONSOLE_DATABASE_URL: consoleDb.url,
      CONSOLE_ADMIN_TOKEN: CONSOLE_TOKEN,
      CONSOLE_ORDER_URL: system.instance('order').url,
      CONSOLE_PAYMENT_URL: system.instance('payment').url,
      CONSOLE_NOTIFICATION_URL: system.instance('notification').url,
      LOG_LEVEL: 'warn',
    });
    opsConsole = await bootstrapConsole({ env, port: 0 });
  }, 300_000);

  afterAll(async () => {
    await opsConsole?.app.close();
    await system?.stop();
    await consoleDb?.drop();
  }, 90_000);

  const infraStatus = async (...args: string[]) => {
    const env = {
      ...process.env,
      KAFKA_BROKERS: system.brokers.join(','),
      ORDER_DATABASE_URL: system.databaseUrl('order'),
      PAYMENT_DATABASE_URL: system.databaseUrl('payment'),
      NOTIFICATION_DATABASE_URL: system.databaseUrl('notification'),
      CONSOLE_DATABASE_URL: consoleDb.url,
      CONSOLE_URL: opsConsole.url,
    };
    // Exit 3 says the infrastructure is not all up (no local broker of infra:up here); the report is printed either way.
    const run = await promisify(execFile)('npm', ['run', '-s', 'infra:status', '--', ...args], { cwd: ROOT, env }).catch(
      (error: { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? '', code: error.code }),
    );
    return run.stdout;
  };

  it('shows per app the consumer lag, the dead letters not handled in the console and the outbox pending and parked rows', async () => {
    // Two payment events for orders the order app does not have: two dead letters in order.dlq; the console discards one.
    const producer = system.producer();
    await producer.publish(paymentCompleted({ orderId: randomUUID(), amount: 100, currency: 'EUR' }));
    await producer.publish(paymentCompleted({ orderId: randomUUID(), amount: 100, currency: 'EUR' }));
    const letters = await eventually(
      async () => ((await (await fetch(`${opsConsole.url}/api/dead-letters?app=order`)).json()) as { items: { id: string }[] }).items,
      { accept: (items) => items.length === 2, what: 'two order dead letters in the console', timeoutMs: 30_000 },
    );
    const discarded = await fetch(`${opsConsole.url}/api/dead-letters/${encodeURIComponent(letters[0].id)}/discard`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONSOLE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'infra:status e2e' }),
    });
    expect(discarded.status).toBe(200);

    // The order app's outbox: one row parked, one pending (held back an hour, so the relay leaves it).
    await system.sql('order').query(
      `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, attempts, parked_at, next_attempt_at)
       VALUES ($1, 'e2e.parked', 'e2e.backlog', 'k', '{}', 10, now(), NULL), ($2, 'e2e.pending', 'e2e.backlog', 'k', '{}', 1, NULL, now() + interval '1 hour')`,
      [randomUUID(), randomUUID()],
    );

    // With the order app stopped, three payment events wait for its group.
    await system.instance('order').stop();
    for (let i = 0; i < 3; i++) await producer.publish(paymentCompleted({ orderId: randomUUID(), amount: 100, currency: 'EUR' }));

    const report = JSON.parse(await infraStatus('--json')) as { apps: AppBacklog[] };
    const order = report.apps.find((a) => a.app === 'order')!;
    expect(order.consumerLag?.[Topics.PaymentCompleted]).toBe(3);
    expect(order.deadLetters).toEqual({ inTopic: 2, handled: 1, waiting: 1 });
    expect(order.outbox).toEqual({ pending: 1, parked: 1 });
    expect(order.errors).toEqual([]);
    const notification = report.apps.find((a) => a.app === 'notification')!;
    expect(notification.outbox).toBeNull(); // no outbox table
    expect(notification.deadLetters).toEqual({ inTopic: 0, handled: 0, waiting: 0 });

    const text = await infraStatus();
    expect(text).toMatch(
      /^order: consumer lag 3 \(payment\.completed 3.*\) · dead letters waiting 1 \(2 in order\.dlq, 1 handled in the console\) · outbox 1 pending, 1 parked$/m,
    );
    expect(text).toMatch(/^notification: consumer lag 0 .*· no outbox$/m);
  });
});
