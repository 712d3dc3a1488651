import { OutboxRelay } from '@lib/outbox';
import { eventually, InProcessApp, privateBroker, startSystem, System } from '@lib/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_APPS } from './support/all-apps';

/** Metric names a PromQL expression reads (functions, labels and keywords left out). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/by \([^)]*\)/g, '').replace(/\[[^\]]*\]/g, '');
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

  it('reports every app ready once database, Kafka, consumer and outbox are fine; liveness checks nothing else', async () => {
    for (const app of ['order', 'payment', 'notification'] as const) {
      await eventually(async () => (await http(app).get('/health/ready')).status, { accept: (s) => s === 200, what: `${app} ready`, timeoutMs: 60_000 });
      const live = await http(app).get('/health/live').expect(200);
      expect(live.body.info).toEqual({});
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

  it('serves each app\'s OpenAPI document at /docs', async () => {
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

  it('answers 503 naming the outbox while the relay is stalled past the threshold, and 200 once it catches up', async () => {
    const relay = system.instance('order').nest.get(OutboxRelay);
    await relay.stop();
    await http('order').post('/orders').send({ customerId: 'stall', currency: 'EUR', items: [{ sku: 'S', quantity: 1, unitPrice: 1 }] }).expect(201);
    const stalled = await eventually(() => http('order').get('/health/ready'), { accept: (r) => r.status === 503, what: 'order not ready', timeoutMs: 15_000 });
    expect(stalled.body.error).toHaveProperty('outbox');
    expect(stalled.body.error.outbox.message).toMatch(/oldest pending event is \d+ s old \(limit 3 s\)/);
    expect(stalled.body.info).toHaveProperty('database');
    relay.start();
    await eventually(async () => (await http('order').get('/health/ready')).status, { accept: (s) => s === 200, what: 'order ready again' });
  });

  it('answers 503 naming Kafka within its check timeout when the broker is down, and recovers when it is back', async () => {
    const [broker] = system.kafka.nodes;
    await broker.stop();
    for (const app of ['order', 'payment', 'notification'] as const) {
      const response = await eventually(() => http(app).get('/health/ready'), {
        accept: (r) => r.status === 503 && r.body.error?.kafka !== undefined,
        what: `${app} reports Kafka down`,
        timeoutMs: 30_000,
      });
      expect(response.body.error.kafka.status).toBe('down');
      const started = Date.now();
      await http(app).get('/health/ready').expect(503);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    await broker.restart();
    for (const app of ['order', 'payment', 'notification'] as const) {
      await eventually(async () => (await http(app).get('/health/ready')).status, { accept: (s) => s === 200, what: `${app} ready after the broker returned`, timeoutMs: 90_000 });
    }
  }, 180_000);
});
