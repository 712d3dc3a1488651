import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TracingOptions {
  /** `service.name` of the exported spans (the app name). */
  serviceName: string;
  /**
   * OTLP/HTTP base URL of a collector, e.g. `http://localhost:4318`; spans go
   * to `<url>/v1/traces` in batches. Empty or absent: tracing stays off.
   */
  otlpEndpoint?: string;
  /** Exports each span as it ends, instead of OTLP (tests: an `InMemorySpanExporter`). */
  exporter?: SpanExporter;
}

/** The one provider of this process, or null while tracing is off. */
let provider: NodeTracerProvider | null = null;

/**
 * Switches tracing on for the whole process — a NodeTracerProvider with the
 * W3C trace-context propagator and an AsyncLocalStorage context manager — when
 * an endpoint or an exporter is given; otherwise does nothing and returns
 * false. Without a provider every helper of this library is a plain
 * pass-through, so tracing off costs one boolean check per request or message.
 *
 * OpenTelemetry's registration is process-wide: once on, further calls (e.g.
 * several apps booted in one test process) keep the first provider and
 * return true; spans tell apps apart by their `app` attribute.
 */
export function initTracing(options: TracingOptions): boolean {
  if (provider) return true;
  const exporter = options.exporter ?? (options.otlpEndpoint ? new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) }) : null);
  if (!exporter) return false;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  // Only trace context: no baggage, so nothing a client sends rides along into our events.
  provider.register({ propagator: new W3CTraceContextPropagator(), contextManager: new AsyncLocalStorageContextManager() });
  return true;
}

/** True once `initTracing` registered a provider. */
export function isTracingEnabled(): boolean {
  return provider !== null;
}

/** Exports the spans still buffered (batch processor); call on shutdown so the last requests are not lost. */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

/**
 * Flushes, shuts the provider down and unregisters it, the context manager and
 * the propagator: the process is back to "tracing off". For tests; an app
 * only flushes (`flushTracing`), since other apps may share the process.
 */
export async function shutdownTracing(): Promise<void> {
  const current = provider;
  provider = null;
  if (!current) return;
  await current.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

/** The OTLP traces URL of a base endpoint, as the OTel spec derives it from `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}
