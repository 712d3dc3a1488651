import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { once } from 'node:events';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { currentTraceparent, httpTracingMiddleware, initTracing, isTracingEnabled, shutdownTracing, tracesUrl, withConsumerSpan } from '../src';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];
const spanIdOf = (traceparent: string | undefined) => traceparent?.split('-')[2];

describe('tracing switched off (no endpoint configured)', () => {
  it('registers no tracer provider, context manager or propagator', () => {
    expect(initTracing({ serviceName: 'order' })).toBe(false);
    expect(initTracing({ serviceName: 'order', otlpEndpoint: '' })).toBe(false);
    expect(isTracingEnabled()).toBe(false);

    const span = trace.getTracer('probe').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
    span.end();
    expect(propagation.fields()).toEqual([]);
    const key = Symbol('probe');
    expect(context.with(context.active().setValue(key, 1), () => context.active().getValue(key))).toBeUndefined();
  });

  it('stores no traceparent and runs handlers untouched', async () => {
    expect(currentTraceparent()).toBeUndefined();
    const notes: unknown[] = [];
    const result = await withConsumerSpan({ app: 'payment', topic: 'order.created', headers: { traceparent: CALLER } }, async (span) => {
      span.setAttribute('ignored', true);
      notes.push(currentTraceparent());
      return 42;
    });
    expect(result).toBe(42);
    expect(notes).toEqual([undefined]);
  });
});

describe('tracing switched on', () => {
  const exporter = new InMemorySpanExporter();

  beforeAll(() => {
    expect(initTracing({ serviceName: 'test', exporter })).toBe(true);
  });

  afterEach(() => exporter.reset());

  afterAll(async () => {
    await shutdownTracing();
    expect(isTracingEnabled()).toBe(false);
  });

  it('keeps the first provider when a second app of the same process asks for one', () => {
    expect(initTracing({ serviceName: 'payment', otlpEndpoint: 'http://localhost:4318' })).toBe(true);
    trace.getTracer('probe').startSpan('probe').end();
    expect(exporter.getFinishedSpans().map((s) => s.resource.attributes['service.name'])).toEqual(['test']);
  });

  it('continues the message traceparent in a CONSUMER span, whose own traceparent is what the handler stores', async () => {
    let stored: string | undefined;
    await withConsumerSpan({ app: 'payment', topic: 'order.created', headers: { traceparent: CALLER, 'event-id': 'x' } }, async () => {
      stored = currentTraceparent();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'order.created process', kind: SpanKind.CONSUMER, attributes: expect.objectContaining({ app: 'payment' }) });
    expect(span.spanContext().traceId).toBe(traceIdOf(CALLER));
    expect(span.parentSpanContext?.spanId).toBe(spanIdOf(CALLER));
    expect(traceIdOf(stored)).toBe(traceIdOf(CALLER));
    expect(spanIdOf(stored)).toBe(span.spanContext().spanId);
  });

  it('starts a new trace for a message without a traceparent, and marks a failed handler as an error', async () => {
    await expect(
      withConsumerSpan({ app: 'order', topic: 'payment.completed', headers: {} }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans();
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });

  describe('HTTP requests', () => {
    let server: Server;
    let seen: (string | undefined)[];
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const req = request({ port: (server.address() as AddressInfo).port, path, headers });
      req.end();
      const [res] = await once(req, 'response');
      res.resume();
      await once(res, 'end');
    };

    beforeAll(async () => {
      seen = [];
      const middleware = httpTracingMiddleware({ app: 'order', attributes: () => ({ 'app.correlation_id': 'c-1' }) });
      server = createServer((req, res) =>
        middleware(req, res, () => {
          seen.push(currentTraceparent());
          res.statusCode = req.url === '/fail' ? 503 : 201;
          res.end();
        }),
      );
      server.listen(0);
      await once(server, 'listening');
    });

    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it("makes a SERVER span per request that continues the caller's traceparent and is the parent of what the request stores", async () => {
      await get('/orders?x=1', { traceparent: CALLER });
      await get('/fail');
      const [continued, fresh] = exporter.getFinishedSpans();
      expect(continued).toMatchObject({
        kind: SpanKind.SERVER,
        attributes: expect.objectContaining({ app: 'order', 'url.path': '/orders', 'http.response.status_code': 201, 'app.correlation_id': 'c-1' }),
      });
      expect(continued.spanContext().traceId).toBe(traceIdOf(CALLER));
      expect(spanIdOf(seen[0])).toBe(continued.spanContext().spanId);
      expect(fresh.spanContext().traceId).not.toBe(traceIdOf(CALLER));
      expect(fresh.status.code).toBe(SpanStatusCode.ERROR);
    });
  });
});

describe('the OTLP endpoint', () => {
  it('is a base URL: spans go to <endpoint>/v1/traces, as the OTel spec derives it from OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(tracesUrl('http://localhost:4318')).toBe('http://localhost:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
  });
});
