import { OutboxRelay } from '@lib/outbox';
import { eventually, InProcessApp, privateBroker, startSystem, System } from '@lib/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_APPS } from './support/all-apps';

/** Metric names a PromQL expression reads (functions, labels and keywords left out). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/by \([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const words = withoutLabels.match(/[a-z_][a-z0-9_]*/g) ?? [];
  const promql = new Set(['sum', 'rate', 'increase', 'histogram_quantile', 'by', 'le', 'avg', 'max', 'min']);
  return words.filter((w) => !promql.has(w)).map((w) => w.replace(/_(bucket|count|sum)$/, ''));
}

/**
 * What operators see: readiness that tells the truth, metrics that move,
 * and a dashboard that only queries series the apps expose. The three apps
 * run in this process on a broker of their own, which the last test stops.
 */
describe('observability of the three apps', () => {
  let system: System<InProcessApp>;
  const http = (app: 'order' | 'payment' | 'notification') => system.http(app);
  const metricsOf = async (app: 'order' | 'payment' | 'notification') => (await http(app).get('/metrics').expect(200)).text;
  const sampleValues = (text: string, name: string, filter = '') =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(filter))
      .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-observability',
      kafka: privateBroker({ port: 29592 }),
      inProcess: ALL_APPS,
      env: { OUTBOX_MAX_PENDING_AGE_SECONDS: '3', LOG_LEVEL: 'error' },
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop(); // stops the broker too, also when the last test left it stopped half-way
  }, 90_000);

  it('reports every app ready, live and healthy once database, Kafka, consumer and outbox are fine', async () => {
    for (const app of ['order', 'payment', 'notification'] as const) {
      await eventually(async () => (await http(app).get('/health')).status, { accept: (s) => s === 200, what: `${app} healthy`, timeoutMs: 60_000 });
      const details = await http(app).get('/health').expect(200);
      expect(Object.keys(details.body.info)).toEqual(expect.arrayContaining(['database', 'kafka', 'consumer']));
      const ready = await http(app).get('/health/ready').expect(200);
      expect(Object.keys(ready.body.info).sort()).toEqual(['database', 'shutdown']);
      const live = await http(app).get('/health/live').expect(200);
      expect(live.body.info).toMatchObject({ consumer: { status: 'up', state: 'joined' } });
    }
  });

  it('shows the traffic in /metrics after orders flowed, and consumer lag returns to 0', async () => {
    const orderIds: string[] = [];
    for (const unitPrice of [1500, 250_000, 9900]) {
      const { body } = await http('order')
        .post('/orders')
        .send({ customerId: 'obs', currency: 'EUR', items: [{ sku: 'OBS', quantity: 1, unitPrice }] })
        .expect(201);
      orderIds.push(body.id);
    }
    for (const id of orderIds) {
      await eventually(async () => (await http('notification').get('/notifications').query({ orderId: id })).body.items.length, {
        accept: (n: number) => n >= 2,
        what: `notifications of ${id}`,
      });
    }

    const order = await metricsOf('order');
    expect(sampleValues(order, 'http_requests_total', 'route="/orders"').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    expect(sampleValues(order, 'outbox_published_total')[0]).toBeGreaterThanOrEqual(6);
    expect(sampleValues(order, 'consumer_messages_total', 'outcome="handled"').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    expect(sampleValues(order, 'order_settlement_latency_seconds_count').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    const payment = await metricsOf('payment');
    expect(sampleValues(payment, 'outbox_published_total')[0]).toBeGreaterThanOrEqual(3);
    expect(sampleValues(payment, 'consumer_messages_total', 'topic="order.created"')[0]).toBeGreaterThanOrEqual(3);
    const notification = await metricsOf('notification');
    expect(sampleValues(notification, 'consumer_messages_total', 'outcome="handled"').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6);

    for (const app of ['order', 'payment', 'notification'] as const) {
      await eventually(async () => sampleValues(await metricsOf(app), 'consumer_lag').reduce((a, b) => a + b, 0), {
        accept: (lag: number) => lag === 0,
        what: `${app} consumer lag back to 0`,
      });
    }
  });

  it("serves each app's OpenAPI document at /docs", async () => {
    const expected = { order: '/orders', payment: '/payments', notification: '/notifications' } as const;
    for (const [app, path] of Object.entries(expected) as [keyof typeof expected, string][]) {
      await http(app).get('/docs').expect(200);
      const { body } = await http(app).get('/docs/openapi.json').expect(200);
      expect(Object.keys(body.paths)).toEqual(expect.arrayContaining([path, '/health/ready', '/metrics']));
    }
  });

  it('queries in the Grafana dashboard only metrics that the apps expose', async () => {
    const dashboard = JSON.parse(readFileSync(join(__dirname, '..', 'docker', 'grafana', 'dashboards', 'order-saga.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
    const exposed = new Set<string>();
    for (const app of ['order', 'payment', 'notification'] as const) {
      for (const line of (await metricsOf(app)).split('\n')) if (line.startsWith('# TYPE ')) exposed.add(line.split(' ')[2]);
    }
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('reports the outbox in /health (503, with its age) while the relay is stalled past the threshold — readiness stays 200 — and 200 once it catches up', async () => {
    const relay = system.instance('order').nest.get(OutboxRelay);
    await relay.stop();
    await http('order')
      .post('/orders')
      .send({ customerId: 'stall', currency: 'EUR', items: [{ sku: 'S', quantity: 1, unitPrice: 1 }] })
      .expect(201);
    const stalled = await eventually(() => http('order').get('/health'), { accept: (r) => r.status === 503, what: 'order unhealthy', timeoutMs: 15_000 });
    expect(stalled.body.error).toHaveProperty('outbox');
    expect(stalled.body.error.outbox.message).toMatch(/oldest pending event is \d+ s old \(limit 3 s\)/);
    expect(stalled.body.info).toHaveProperty('database');
    await http('order').get('/health/ready').expect(200);
    relay.start();
    await eventually(async () => (await http('order').get('/health')).status, { accept: (s) => s === 200, what: 'order healthy again' });
  });

  it('keeps the order app ready and taking orders while the broker is down, names Kafka in /health, and settles those orders once the broker is back (health that gates the wrong thing)', async () => {
    const [broker] = system.kafka.nodes;
    await broker.stop();
    for (const app of ['order', 'payment', 'notification'] as const) {
      const details = await eventually(() => http(app).get('/health'), {
        accept: (r) => r.status === 503 && r.body.error?.kafka !== undefined,
        what: `${app} names Kafka in /health`,
        timeoutMs: 30_000,
      });
      expect(details.body.error.kafka.status).toBe('down');
      expect(details.body.info).toHaveProperty('database');
      const started = Date.now();
      await http(app).get('/health').expect(503);
      expect(Date.now() - started).toBeLessThan(10_000); // within the check's timeout, not the client's
      await http(app).get('/health/ready').expect(200);
      await http(app).get('/health/live').expect(200);
    }

    const placed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { body } = await http('order')
        .post('/orders')
        .send({ customerId: 'broker-down', currency: 'EUR', items: [{ sku: 'BD', quantity: 1, unitPrice: 1000 + i }] })
        .expect(201);
      placed.push(body.id);
      await http('order').get('/health/ready').expect(200);
    }
    for (const id of placed) expect((await http('order').get(`/orders/${id}`).expect(200)).body.status).toBe('PENDING');

    await broker.restart();
    for (const id of placed) {
      await eventually(async () => (await http('order').get(`/orders/${id}`)).body.status, {
        accept: (status: string) => status === 'CONFIRMED',
        what: `order ${id} settled after the broker returned`,
        timeoutMs: 90_000,
      });
    }
    for (const app of ['order', 'payment', 'notification'] as const) {
      await eventually(async () => (await http(app).get('/health')).status, {
        accept: (s) => s === 200,
        what: `${app} healthy after the broker returned`,
        timeoutMs: 90_000,
      });
    }
  }, 240_000);
});
