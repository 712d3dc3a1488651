import { AppName } from '@lib/events';
import { validateEnv } from '@lib/service';
import {
  createTestDatabase,
  eventually,
  InProcessApp,
  paymentCompleted,
  privateBroker,
  startSystem,
  System,
  TcpProxy,
  TestDatabase,
  TEST_POSTGRES_URL,
} from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { ConsoleEnv } from '../apps/console/src/config/console.env';
import { bootstrapConsole, StartedConsole } from '../apps/console/src/console.bootstrap';
import { ALL_APPS } from './support/all-apps';
import { OpenApiConformance, OpenApiDocument } from './support/openapi-conformance';

jest.setTimeout(120_000);

const ADMIN_TOKEN = 'openapi-e2e-admin-token';
const CONSOLE_TOKEN = 'openapi-e2e-console-token';
const APPS: AppName[] = ['order', 'payment', 'notification'];
type Target = AppName | 'console';

/**
 * Operations that answer no error a client can cause or a test can bring
 * about here (their 500 is documented for all), with the reason. Every other
 * operation must be seen answering a success and an error.
 */
const NO_ERROR_EXERCISED: Record<string, string> = {
  'GET /metrics': 'scraping answers 200 whatever the state',
  'GET /health/live': "down only when an app's consumer crashed beyond its restart policy; the console's answers while it runs",
  'GET /api/overview': 'the sampler answers from memory',
};

/** Operations that cannot succeed in this system, with the reason. */
const NO_SUCCESS_EXERCISED: Record<string, string> = {
  'notification: POST /admin/outbox/parked/{id}/release': 'the notification app has no outbox (404)',
};

/**
 * Issue 14, "a complete API description": every app serves its OpenAPI
 * document at /docs/openapi.json. Here each document is fetched from the
 * running apps (in this process, on a private broker and throw-away
 * databases) and the ops console, every operation is called — success and
 * error cases — and every response is checked against the schema the
 * document gives for its status: body (no undocumented fields), documented
 * headers (X-Correlation-Id on every answer of the apps). The document must
 * also give every operation tags, a schema and an example for every
 * response, and describe the X-Correlation-Id and Idempotency-Key headers.
 */
describe('the served OpenAPI documents against the real responses', () => {
  let system: System<InProcessApp>;
  let consoleDb: TestDatabase;
  let opsConsole: StartedConsole;
  let databaseProxy: TcpProxy;
  const docs = {} as Record<Target, OpenApiConformance>;

  const baseUrl = (target: Target) => (target === 'console' ? opsConsole.url : system.instance(target).url);

  /** One request, checked against the target's document; returns the status and the parsed body. */
  const call = async <T = any>(target: Target, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const response = await fetch(`${baseUrl(target)}${path}`, {
      method,
      headers: { ...(options.body !== undefined && { 'content-type': 'application/json' }), ...options.headers },
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    docs[target].check({ method, url: path, status: response.status, headers: response.headers, text });
    const json = (response.headers.get('content-type') ?? '').includes('json') && text ? (JSON.parse(text) as T) : (text as T);
    return { status: response.status, body: json, headers: response.headers };
  };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const operator = { authorization: `Bearer ${CONSOLE_TOKEN}` };

  /** Fails the test with every non-conforming response seen since the last call. */
  const expectConforming = () => {
    const problems = Object.values(docs).flatMap((doc) => doc.problems.splice(0));
    expect(problems).toEqual([]);
  };

  beforeAll(async () => {
    // Every database connection goes through this proxy, so that a test can take PostgreSQL away from the apps and the console.
    const server = new URL(TEST_POSTGRES_URL);
    databaseProxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port || 5432) });
    system = await startSystem({
      postgresUrl: databaseProxy.proxied(TEST_POSTGRES_URL),
      name: 'e2e-openapi',
      kafka: privateBroker({ port: 29942 }),
      inProcess: {
        ...ALL_APPS,
        payment: { ...ALL_APPS.payment, env: { PAYMENT_SIMULATOR_CONTROL: 'true' } },
      },
      env: { ADMIN_TOKEN, CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_RETRY_BACKOFF_MS: '100', OUTBOX_POLL_INTERVAL_MS: '200', LOG_LEVEL: 'warn' },
    });
    consoleDb = await createTestDatabase('e2e_openapi_console', databaseProxy.proxied(TEST_POSTGRES_URL));
    const env = validateEnv(ConsoleEnv, {
      KAFKA_BROKERS: system.brokers.join(','),
      CONSOLE_DATABASE_URL: consoleDb.url,
      CONSOLE_ADMIN_TOKEN: CONSOLE_TOKEN,
      ADMIN_TOKEN,
      CONSOLE_ORDER_URL: system.instance('order').url,
      CONSOLE_PAYMENT_URL: system.instance('payment').url,
      CONSOLE_NOTIFICATION_URL: system.instance('notification').url,
      CONSOLE_SAMPLE_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    opsConsole = await bootstrapConsole({ env, port: 0 });
    await eventually(async () => (await fetch(`${opsConsole.url}/health/ready`)).status, {
      accept: (s) => s === 200,
      what: 'console ready',
      timeoutMs: 60_000,
    });
    for (const target of [...APPS, 'console'] as Target[]) {
      const response = await fetch(`${baseUrl(target)}/docs/openapi.json`);
      expect(response.status).toBe(200);
      docs[target] = new OpenApiConformance(target, (await response.json()) as OpenApiDocument);
    }
  }, 300_000);

  afterAll(async () => {
    await opsConsole?.app.close();
    await system?.stop();
    await consoleDb?.drop();
    await databaseProxy?.stop();
  }, 90_000);

  it('gives every operation tags, a schema and an example for every response, and the X-Correlation-Id and Idempotency-Key headers', () => {
    const gaps = APPS.flatMap((app) =>
      docs[app].gaps({
        requestHeaders: (operation) => (operation === 'POST /orders' ? ['X-Correlation-Id', 'Idempotency-Key'] : ['X-Correlation-Id']),
        responseHeaders: ['X-Correlation-Id'],
      }),
    );
    gaps.push(...docs.console.gaps({ requestHeaders: () => [], responseHeaders: [] }));
    expect(gaps).toEqual([]);
  });

  const placeOrderBody = (total = 2500) => ({
    customerId: `openapi-${randomUUID().slice(0, 8)}`,
    currency: 'EUR',
    items: [{ sku: 'SKU-OPENAPI', quantity: 1, unitPrice: total }],
  });

  it('order: placing (201, replayed 200, conflicting key 409, invalid body and key 400), reading (200, 404, 400) and listing (200, 400)', async () => {
    const key = `openapi-${randomUUID()}`;
    const body = placeOrderBody();
    const placed = await call<{ id: string }>('order', 'POST', '/orders', { body, headers: { 'idempotency-key': key, 'x-correlation-id': 'openapi-e2e-1' } });
    expect(placed.status).toBe(201);
    expect(placed.headers.get('x-correlation-id')).toBe('openapi-e2e-1');
    expect((await call('order', 'POST', '/orders', { body, headers: { 'idempotency-key': key } })).status).toBe(200);
    expect((await call('order', 'POST', '/orders', { body: placeOrderBody(99), headers: { 'idempotency-key': key } })).status).toBe(409);
    expect((await call('order', 'POST', '/orders', { body: { ...body, items: [] } })).status).toBe(400);
    expect((await call('order', 'POST', '/orders', { body: '{"customerId": ' })).status).toBe(400);
    expect((await call('order', 'POST', '/orders', { body, headers: { 'idempotency-key': 'x'.repeat(256) } })).status).toBe(400);
    expect((await call('order', 'GET', `/orders/${placed.body.id}`)).status).toBe(200);
    expect((await call('order', 'GET', `/orders/${randomUUID()}`)).status).toBe(404);
    expect((await call('order', 'GET', '/orders/not-a-uuid')).status).toBe(400);
    expect((await call('order', 'GET', `/orders?customerId=${body.customerId}&limit=5`)).status).toBe(200);
    expect((await call('order', 'GET', '/orders?status=LOST')).status).toBe(400);
    await eventually(async () => (await call<{ status: string }>('order', 'GET', `/orders/${placed.body.id}`)).body.status, {
      accept: (s) => s === 'CONFIRMED',
      what: 'the order confirmed',
      timeoutMs: 30_000,
    });
    expect((await call('order', 'GET', `/orders/${placed.body.id}`)).status).toBe(200);
    expectConforming();
  });

  it('payment: listing an order’s payments (200, 400) and changing the simulator (200, 400)', async () => {
    const placed = await call<{ id: string }>('order', 'POST', '/orders', { body: placeOrderBody() });
    await eventually(async () => (await call<{ items: unknown[] }>('payment', 'GET', `/payments?orderId=${placed.body.id}`)).body.items.length, {
      accept: (n) => n === 1,
      what: 'the payment of the order',
      timeoutMs: 30_000,
    });
    expect((await call('payment', 'GET', '/payments')).status).toBe(400);
    expect((await call('payment', 'PUT', '/simulator', { body: { failureRate: 0, latencyMs: 0 } })).status).toBe(200);
    expect((await call('payment', 'PUT', '/simulator', { body: { failureRate: 2 } })).status).toBe(400);
    expectConforming();
  });

  it('notification: listing an order’s notifications (200, 400)', async () => {
    const placed = await call<{ id: string }>('order', 'POST', '/orders', { body: placeOrderBody() });
    await eventually(async () => (await call<{ items: unknown[] }>('notification', 'GET', `/notifications?orderId=${placed.body.id}`)).body.items.length, {
      accept: (n) => n >= 1,
      what: 'a notification of the order',
      timeoutMs: 30_000,
    });
    expect((await call('notification', 'GET', '/notifications?orderId=42')).status).toBe(400);
    expectConforming();
  });

  it.each(APPS)('%s: the admin endpoints with the token (200), without it (401), with bad input (400) and unknown rows (404)', async (app) => {
    expect((await call(app, 'GET', '/admin/outbox', { headers: admin })).status).toBe(200);
    expect((await call(app, 'GET', '/admin/outbox')).status).toBe(401);
    expect((await call(app, 'GET', '/admin/outbox/parked?limit=10', { headers: admin })).status).toBe(200);
    expect((await call(app, 'GET', '/admin/outbox/parked?limit=ten', { headers: admin })).status).toBe(400);
    expect((await call(app, 'GET', '/admin/outbox/parked')).status).toBe(401);
    expect((await call(app, 'POST', '/admin/outbox/parked/999999/release', { headers: admin })).status).toBe(404);
    expect((await call(app, 'POST', '/admin/outbox/parked/abc/release', { headers: admin })).status).toBe(400);
    expect((await call(app, 'POST', '/admin/outbox/parked/1/release')).status).toBe(401);
    expect((await call(app, 'GET', '/admin/consumer', { headers: admin })).status).toBe(200);
    expect((await call(app, 'GET', '/admin/consumer', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await call(app, 'GET', '/metrics')).status).toBe(200);
    expect((await call(app, 'GET', '/health/live')).status).toBe(200);
    expect((await call(app, 'GET', '/health/ready')).status).toBe(200);
    expect((await call(app, 'GET', '/health')).status).toBe(200);
    expectConforming();
  });

  it.each(['order', 'payment'] as AppName[])(
    '%s: a parked outbox row shows in /admin/outbox/parked, turns /health to 503, and is released (200)',
    async (app) => {
      const [{ id }] = (
        await system.sql(app).query<{ id: string }>(
          `INSERT INTO outbox (event_id, event_type, topic, message_key, payload, attempts, last_error, parked_at)
         VALUES ($1, 'openapi.parked', 'openapi.parked', 'k', '{}', 10, 'parked by the OpenAPI e2e', now()) RETURNING id`,
          [randomUUID()],
        )
      ).rows;
      const parked = await call<{ items: { id: string }[] }>(app, 'GET', '/admin/outbox/parked', { headers: admin });
      expect(parked.body.items.map((r) => r.id)).toContain(id);
      expect((await call(app, 'GET', '/health')).status).toBe(503);
      expect((await call(app, 'POST', `/admin/outbox/parked/${id}/release`, { headers: admin })).status).toBe(200);
      // Released, the relay publishes the row (to a topic of its own, auto-created) and /health is up again.
      await eventually(async () => (await call(app, 'GET', '/health')).status, { accept: (s) => s === 200, what: `${app} healthy again`, timeoutMs: 30_000 });
      expectConforming();
    },
  );

  const READ_PATHS: Record<AppName, () => string> = {
    order: () => `/orders/${randomUUID()}`,
    payment: () => `/payments?orderId=${randomUUID()}`,
    notification: () => `/notifications?orderId=${randomUUID()}`,
  };

  it('with PostgreSQL unreachable: reads answer 503 with Retry-After, /health/ready and /health are 503 (apps and console)', async () => {
    await databaseProxy.cut();
    try {
      for (const app of APPS) {
        await eventually(async () => (await call(app, 'GET', '/health/ready')).status, {
          accept: (s) => s === 503,
          what: `${app} not ready`,
          timeoutMs: 20_000,
        });
        expect((await call(app, 'GET', '/health')).status).toBe(503);
        const refused = await call(app, 'GET', READ_PATHS[app]());
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('5');
      }
      await eventually(async () => (await call('console', 'GET', '/health/ready')).status, {
        accept: (s) => s === 503,
        what: 'console not ready',
        timeoutMs: 20_000,
      });
    } finally {
      await databaseProxy.restore();
    }
    for (const app of APPS) {
      await eventually(async () => (await call(app, 'GET', '/health')).status, { accept: (s) => s === 200, what: `${app} healthy again`, timeoutMs: 60_000 });
    }
    await eventually(async () => (await call('console', 'GET', '/health/ready')).status, {
      accept: (s) => s === 200,
      what: 'console ready again',
      timeoutMs: 30_000,
    });
    expectConforming();
  });

  it('console: the JSON API reads (200, 400, 404) and acts on a dead letter (200) only with the token (401), refusing bad requests (400, 404)', async () => {
    const orderId = randomUUID();
    await system.producer().publish(paymentCompleted({ orderId, amount: 2500, currency: 'EUR' }, { correlationId: `openapi-${orderId}` }));
    const letters = await eventually(
      async () => (await call<{ items: { id: string; orderId: string }[] }>('console', 'GET', '/api/dead-letters?app=order')).body.items,
      {
        accept: (items) => items.some((l) => l.orderId === orderId),
        what: 'the order app dead letter in the console',
        timeoutMs: 30_000,
      },
    );
    const id = encodeURIComponent(letters.find((l) => l.orderId === orderId)!.id);
    expect((await call('console', 'GET', '/api/overview')).status).toBe(200);
    expect((await call('console', 'GET', '/api/dead-letters?state=lost')).status).toBe(400);
    expect((await call('console', 'GET', `/api/dead-letters/${id}`)).status).toBe(200);
    expect((await call('console', 'GET', '/api/dead-letters/order.dlq%2F0@999999')).status).toBe(404);
    expect((await call('console', 'GET', '/api/dead-letters/actions?app=order')).status).toBe(200);
    expect((await call('console', 'GET', '/api/dead-letters/actions?app=shop')).status).toBe(400);
    expect((await call('console', 'POST', `/api/dead-letters/${id}/replay`, { body: { note: 'openapi e2e' } })).status).toBe(401);
    expect((await call('console', 'POST', '/api/dead-letters/order.dlq%2F0@999999/replay', { body: {}, headers: operator })).status).toBe(404);
    expect((await call('console', 'POST', `/api/dead-letters/${id}/replay`, { body: { note: 'openapi e2e' }, headers: operator })).status).toBe(200);
    expect((await call('console', 'POST', '/api/dead-letters/replay-all', { body: { app: 'order' } })).status).toBe(401);
    expect((await call('console', 'POST', '/api/dead-letters/replay-all', { body: { app: 'shop' }, headers: operator })).status).toBe(400);
    expect((await call('console', 'POST', '/api/dead-letters/replay-all', { body: { app: 'order' }, headers: operator })).status).toBe(200);
    expect((await call('console', 'POST', `/api/dead-letters/${id}/discard`, { body: { note: 'openapi e2e' } })).status).toBe(401);
    expect((await call('console', 'POST', `/api/dead-letters/${id}/discard`, { body: {}, headers: operator })).status).toBe(400);
    expect((await call('console', 'POST', '/api/dead-letters/order.dlq%2F0@999999/discard', { body: { note: 'gone' }, headers: operator })).status).toBe(404);
    expect((await call('console', 'POST', `/api/dead-letters/${id}/discard`, { body: { note: 'openapi e2e' }, headers: operator })).status).toBe(200);
    expect((await call('console', 'GET', '/health/live')).status).toBe(200);
    expect((await call('console', 'GET', '/health/ready')).status).toBe(200);
    expectConforming();
  });

  it('has called every documented operation, each with a success and (where a client can cause one) an error answer', () => {
    const missing: string[] = [];
    for (const [target, doc] of Object.entries(docs)) {
      const seen = doc.coverage();
      for (const operation of doc.operations()) {
        const statuses = [...(seen.get(operation) ?? [])];
        if (!(`${target}: ${operation}` in NO_SUCCESS_EXERCISED) && !statuses.some((s) => s.startsWith('2')))
          missing.push(`${target}: ${operation} never answered a success`);
        if (!(operation in NO_ERROR_EXERCISED) && !(`${target}: ${operation}` in NO_ERROR_EXERCISED) && !statuses.some((s) => /^[45]/.test(s)))
          missing.push(`${target}: ${operation} never answered an error`);
      }
    }
    expect(missing).toEqual([]);
  });
});
