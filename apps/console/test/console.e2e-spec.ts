import { validateEnv } from '@lib/service';
import {
  createTestDatabase,
  eventually,
  InProcessApp,
  launchBrowser,
  paymentCompleted,
  privateBroker,
  sendWithConsoleProducer,
  startSystem,
  System,
  TestBrowser,
  TestDatabase,
} from '@lib/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { ALL_APPS } from '../../../test/support/all-apps';
import { ConsoleEnv } from '../src/config/console.env';
import { bootstrapConsole, StartedConsole } from '../src/console.bootstrap';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** Where the pages' screenshots go: docs/console with `npm run console:screenshots`, else out of the way. */
const SCREENSHOTS = resolve(REPO_ROOT, process.env.CONSOLE_SCREENSHOTS_DIR ?? join('.local', 'screenshots', 'console'));
const TOKEN = 'console-e2e-token';
const APPS_ADMIN_TOKEN = 'apps-e2e-admin-token';

jest.setTimeout(120_000);

/**
 * The ops console against the real apps (in this process), a private broker
 * and throw-away databases, driven in Debian's Chromium through
 * playwright-core — issue 15's browser tests.
 */
describe('the ops console in a real browser', () => {
  let system: System<InProcessApp>;
  let consoleDb: TestDatabase;
  let opsConsole: StartedConsole;
  let browser: TestBrowser;
  let page: Page;
  const measured: Record<string, number> = {};

  const url = (path: string) => `${opsConsole.url}${path}`;
  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const text = async (selector: string, target: Page = page) => ((await target.locator(selector).first().textContent()) ?? '').trim();
  const signIn = async (target: Page) => {
    await target.goto(url('/login'));
    await target.fill('input[name=operator]', 'e2e-operator');
    await target.fill('input[name=token]', TOKEN);
    await Promise.all([target.waitForURL(url('/')), target.click('form button')]);
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    system = await startSystem({
      name: 'e2e-console',
      kafka: privateBroker({ port: 29892, partitions: 3 }),
      inProcess: ALL_APPS,
      // Handler errors give up after 2 quick tries, so a dead letter is there in well under a second.
      env: { ADMIN_TOKEN: APPS_ADMIN_TOKEN, CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_RETRY_BACKOFF_MS: '100', LOG_LEVEL: 'warn' },
    });
    consoleDb = await createTestDatabase('e2e_console_console');
    const env = validateEnv(ConsoleEnv, {
      KAFKA_BROKERS: system.brokers.join(','),
      CONSOLE_DATABASE_URL: consoleDb.url,
      CONSOLE_ADMIN_TOKEN: TOKEN,
      ADMIN_TOKEN: APPS_ADMIN_TOKEN,
      CONSOLE_ORDER_URL: system.instance('order').url,
      CONSOLE_PAYMENT_URL: system.instance('payment').url,
      CONSOLE_NOTIFICATION_URL: system.instance('notification').url,
      CONSOLE_SAMPLE_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    opsConsole = await bootstrapConsole({ env, port: 0 });
    await eventually(async () => (await fetch(url('/health/ready'))).status, { accept: (s) => s === 200, what: 'console ready', timeoutMs: 60_000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('dialog', (dialog) => void dialog.accept()); // every action asks for a confirmation
    await signIn(page);
  }, 240_000);

  afterAll(async () => {
    process.stdout.write(`[console e2e] measured: ${JSON.stringify(measured)}\n`);
    await browser?.close();
    await opsConsole?.app.close();
    await system?.stop();
    await consoleDb?.drop();
  }, 90_000);

  it('shows a bad message typed into the console producer on the dead-letters page within 5 s, with its reason', async () => {
    const marker = `not json ${randomUUID()}`;
    await sendWithConsoleProducer('order.created', [marker], system.brokers);
    const sent = Date.now();
    // order.created is consumed by payment and notification: each dead-letters it.
    await eventually(
      async () => {
        await page.goto(url('/dead-letters?topic=order.created&kind=not_json'));
        return page.locator('table[data-testid=dead-letters] tr[data-id]').count();
      },
      { accept: (n) => n === 2, what: 'both dead letters on the page', timeoutMs: 5000, intervalMs: 200 },
    );
    measured.deadLetterOnPageMs = Date.now() - sent;
    expect(await text('tr[data-id] [data-testid=reason]')).toMatch(/JSON/i);
    await shot('dead-letters');

    await Promise.all([page.waitForURL(/\/dead-letters\/.+/), page.locator('tr[data-id] a').first().click()]);
    expect(await text('[data-testid=reason]')).toMatch(/^not_json: /);
    expect(await text('[data-testid=value]')).toBe(marker);
    expect(await page.content()).toContain('(raw text, not JSON)');
    expect(await text('[data-testid=state]')).toBe('waiting');
  });

  it("replays a payment event dead-lettered for an unknown order with the button once the order exists: the order settles, the letter shows replayed, the overview's count goes down, npm run dlq -- list agrees", async () => {
    const orderId = randomUUID();
    await system.producer().publish(paymentCompleted({ orderId, amount: 2500, currency: 'EUR' }, { correlationId: `console-e2e-${orderId}` }));
    const overview = await browser.context.newPage();
    await overview.goto(url('/'));
    const orderWaiting = () => text('[data-app=order] [data-testid=dead-letters]', overview);
    await eventually(orderWaiting, { accept: (n) => n === '1', what: 'the overview counting the order app dead letter', timeoutMs: 15_000 });
    await shot('overview', overview);

    // The order arrives late (e.g. restored), after its payment event gave up.
    await system
      .sql('order')
      .query(
        `INSERT INTO orders (id, customer_id, status, items, total_amount, currency, correlation_id) VALUES ($1, 'c-console', 'PENDING', $2, 2500, 'EUR', $3)`,
        [orderId, JSON.stringify([{ sku: 'BOOK-1', quantity: 1, unitPrice: 2500 }]), `console-e2e-${orderId}`],
      );

    await page.goto(url(`/dead-letters?q=${orderId}`));
    await Promise.all([page.waitForURL(/\/dead-letters\/.+/), page.locator('tr[data-id] a').first().click()]);
    expect(await text('[data-testid=reason]')).toContain(orderId);
    await shot('dead-letter');
    await page.fill('form[action$="/replay"] input[name=note]', 'order restored');
    await Promise.all([page.waitForURL(/flash=/), page.click('[data-testid=replay]')]);
    expect(await text('[data-testid=state]')).toBe('replayed');
    expect(await text('[data-testid=action]')).toMatch(/by e2e-operator at .* — order restored/);

    const settled = await eventually(async () => (await system.http('order').get(`/orders/${orderId}`)).body as { status: string }, {
      accept: (o) => o.status === 'CONFIRMED',
      what: 'the order confirmed by the replayed payment',
    });
    expect(settled.status).toBe('CONFIRMED');
    // The overview page was not reloaded: it refreshes itself.
    await eventually(orderWaiting, { accept: (n) => n === '0', what: 'the overview count back down', timeoutMs: 10_000 });
    await overview.close();

    const { stdout } = await promisify(execFile)(join(REPO_ROOT, 'node_modules', '.bin', 'ts-node'), ['scripts/dlq.ts', 'list', 'order', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BROKERS: system.brokers.join(','), CONSOLE_URL: opsConsole.url },
    });
    // The JSON array is the output; anything kafkajs may have logged before it is not.
    const listed = (JSON.parse(stdout.slice(stdout.search(/^\[/m))) as { eventId: string; state: string; action: { operator: string; note: string } }[]).filter(
      (l) => l.state !== 'waiting' || l.eventId,
    );
    expect(listed.find((l) => l.state === 'replayed')).toMatchObject({ state: 'replayed', action: { operator: 'e2e-operator', note: 'order restored' } });
  });

  it('shows the payment lag growing and the orders waiting while payment is stopped, and the lag drained to 0 after its restart', async () => {
    const overview = await browser.context.newPage();
    await overview.goto(url('/'));
    const paymentLag = async () => Number(await text('[data-app=payment] [data-testid="lag-order.created"]', overview));
    await eventually(paymentLag, { accept: (n) => n === 0, what: 'payment caught up before the test' });

    await system.instance('payment').stop();
    const lagSeen: number[] = [];
    for (let i = 1; i <= 6; i++) {
      await system
        .http('order')
        .post('/orders')
        .send({ customerId: 'c-lag', currency: 'EUR', items: [{ sku: 'LAG', quantity: 1, unitPrice: 100 * i }] })
        .expect(201);
      if (i % 3 === 0) lagSeen.push(await eventually(paymentLag, { accept: (n) => n >= i, what: `payment lag of ${i} orders on the page` }));
    }
    expect(lagSeen[1]).toBeGreaterThan(lagSeen[0]);
    expect(await text('[data-app=payment] [data-testid=ready]', overview)).toBe('not ready');
    expect(await text('[data-app=payment] [data-testid=why]', overview)).toMatch(/not running/);
    await shot('overview-payment-stopped', overview);

    const restarted = Date.now();
    await system.instance('payment').start();
    await eventually(paymentLag, { accept: (n) => n === 0, what: 'payment lag drained to 0 on the page', timeoutMs: 60_000 });
    measured.lagDrainedAfterRestartMs = Date.now() - restarted;
    await eventually(() => text('[data-app=payment] [data-testid=ready]', overview), { accept: (s) => s === 'ready', what: 'payment ready again' });
    await overview.close();
  });

  it('shows the journey of an order, all its steps in order with their times, found by order id or correlation id', async () => {
    const correlationId = `journey-${randomUUID()}`;
    const { body: order } = await system
      .http('order')
      .post('/orders')
      .set('X-Correlation-Id', correlationId)
      .send({ customerId: 'c-journey', currency: 'EUR', items: [{ sku: 'BOOK-2', quantity: 2, unitPrice: 1250 }] })
      .expect(201);
    const orderId = (order as { id: string }).id;
    await eventually(async () => ((await system.http('notification').get('/notifications').query({ orderId })).body as { items: unknown[] }).items.length, {
      accept: (n) => n >= 2,
      what: 'both notifications of the order',
    });

    for (const query of [orderId, correlationId]) {
      await page.goto(url(`/journey?q=${encodeURIComponent(query)}`));
      expect(await text('[data-testid=order-id]')).toBe(orderId);
      expect(await text('[data-testid=status]')).toBe('CONFIRMED');
      const steps = await page.locator('[data-testid=step]').allTextContents();
      expect(steps[0]).toBe('order created');
      expect(steps).toEqual(expect.arrayContaining(['payment AUTHORIZED', 'order CONFIRMED', 'notification order.created', 'notification order.confirmed']));
      expect(steps.indexOf('payment AUTHORIZED')).toBeLessThan(steps.indexOf('order CONFIRMED'));
      expect(steps.indexOf('order CONFIRMED')).toBeLessThan(steps.indexOf('notification order.confirmed'));
      const times = (await page.locator('ol.timeline time').allTextContents()).map((t) => Date.parse(`${t.replace(' ', 'T')}Z`));
      expect(times.every((t) => !Number.isNaN(t))).toBe(true);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    }
    await shot('journey');
  });

  it('answers 401 to every change asked without the token, of the console and of the apps', async () => {
    const changes = [
      '/api/dead-letters/replay-all',
      '/api/dead-letters/payment.dlq%2F0@0/replay',
      '/api/dead-letters/payment.dlq%2F0@0/discard',
      '/dead-letters/replay-all',
      '/dead-letters/payment.dlq%2F0@0/replay',
      '/dead-letters/payment.dlq%2F0@0/discard',
      '/apps/order/outbox/parked/1/release',
    ];
    for (const path of changes) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { cookie: 'console_token=wrong' }] as Record<string, string>[]) {
        const response = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"note":"x"}' });
        expect({ path, headers, status: response.status }).toEqual({ path, headers, status: 401 });
      }
    }
    // With the token the same request passes the guard (and finds no such letter).
    const withToken = await fetch(url('/api/dead-letters/payment.dlq%2F0@999/replay'), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(withToken.status).toBe(404);
    for (const app of ['order', 'payment', 'notification'] as const) {
      await system.http(app).post('/admin/outbox/parked/1/release').expect(401);
      await system.http(app).get('/admin/outbox').expect(401);
      await system.http(app).get('/admin/outbox').set('authorization', `Bearer ${APPS_ADMIN_TOKEN}`).expect(200);
    }
  });
});
