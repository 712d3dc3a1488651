import 'reflect-metadata';
import { eventually, InProcessApp, privateBroker, startSystem, System } from '@lib/testing';
import { initTracing, shutdownTracing } from '@lib/tracing';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { ALL_APPS } from './support/all-apps';

type App = 'order' | 'payment' | 'notification';

/** The spans of one order's journey to a confirmed order, as `<app>: <span name>`. */
const JOURNEY = [
  'order: POST /orders',
  'payment: order.created process',
  'notification: order.created process',
  'order: payment.completed process',
  'notification: order.confirmed process',
];

/**
 * One order is one trace: the three apps run in this process (one shared
 * tracer provider, as OpenTelemetry registers it process-wide; spans say
 * which app made them in their `app` attribute) on a broker of their own,
 * and an in-memory exporter collects every span. The trace context travels
 * only the way production carries it: HTTP request → outbox row → Kafka
 * header → consumer span → next outbox row → …
 */
describe('tracing across the three apps', () => {
  const exporter = new InMemorySpanExporter();
  let system: System<InProcessApp>;
  const http = (app: App) => system.http(app);

  beforeAll(async () => {
    // Before the apps boot: with a provider already registered, their own initTracing (no endpoint here) keeps it.
    initTracing({ serviceName: 'tracing-e2e', exporter });
    system = await startSystem({
      name: 'e2e-tracing',
      kafka: privateBroker({ port: 29692 }),
      inProcess: ALL_APPS,
      env: { OUTBOX_POLL_INTERVAL_MS: '200', OTEL_EXPORTER_OTLP_ENDPOINT: '', LOG_LEVEL: 'error' },
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await shutdownTracing();
  }, 90_000);

  const label = (span: ReadableSpan) => `${span.attributes.app}: ${span.name}`;
  /** Spans about the order placed with this correlation id: the request's and every consumed event's. */
  const spansOf = (correlationId: string) => exporter.getFinishedSpans().filter((s) => s.attributes['app.correlation_id'] === correlationId);

  const placeAndConfirm = async () => {
    const correlationId = `trace-${randomUUID()}`;
    const { body } = await http('order')
      .post('/orders')
      .set('X-Correlation-Id', correlationId)
      .send({ customerId: 'tracing', currency: 'EUR', items: [{ sku: 'TRACE', quantity: 2, unitPrice: 1250 }] })
      .expect(201);
    await eventually(async () => (await http('notification').get('/notifications').query({ orderId: body.id })).body.items, {
      accept: (items: { eventType: string }[]) => items.some((n) => n.eventType === 'order.confirmed'),
      what: `the confirmation of order ${body.id} notified`,
      timeoutMs: 90_000,
    });
    // The consumer span ends just after its transaction commits, so the last one may trail the notification row.
    const spans = await eventually(() => spansOf(correlationId), {
      accept: (found) => JOURNEY.every((step) => found.some((s) => label(s) === step)),
      what: `the spans of order ${body.id}`,
      timeoutMs: 10_000,
    });
    return { orderId: body.id as string, spans };
  };

  it('puts every span of an order, from POST /orders to its notifications, into one trace that spans all three apps', async () => {
    const [first, second] = await Promise.all([placeAndConfirm(), placeAndConfirm()]);

    for (const { spans } of [first, second]) {
      const byStep = Object.fromEntries(JOURNEY.map((step) => [step, spans.find((s) => label(s) === step)!]));
      const root = byStep['order: POST /orders'];
      expect(root.kind).toBe(SpanKind.SERVER);
      expect(root.parentSpanContext).toBeUndefined();

      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));
      expect(new Set(spans.map((s) => s.attributes.app))).toEqual(new Set(['order', 'payment', 'notification']));

      // Each hop is the child of the span that wrote the outbox row it consumed.
      const parentOf = (step: string) => byStep[step].parentSpanContext?.spanId;
      const idOf = (step: string) => byStep[step].spanContext().spanId;
      expect(parentOf('payment: order.created process')).toBe(idOf('order: POST /orders'));
      expect(parentOf('notification: order.created process')).toBe(idOf('order: POST /orders'));
      expect(parentOf('order: payment.completed process')).toBe(idOf('payment: order.created process'));
      expect(parentOf('notification: order.confirmed process')).toBe(idOf('order: payment.completed process'));
      for (const step of JOURNEY.slice(1)) expect(byStep[step].kind).toBe(SpanKind.CONSUMER);
    }

    // Two orders handled at the same time do not leak into each other's trace.
    expect(first.spans[0].spanContext().traceId).not.toBe(second.spans[0].spanContext().traceId);
  });
});
