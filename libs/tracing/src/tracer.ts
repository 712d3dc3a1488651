import { trace, Tracer } from '@opentelemetry/api';

/** Name of the instrumentation scope of our spans. */
export const TRACER_NAME = '@lib/tracing';

/** Span attribute naming the app that made the span (the service definition's app name). */
export const ATTR_APP = 'app';

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
