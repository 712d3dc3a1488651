import { Attributes, context, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isTracingEnabled } from './init-tracing';
import { ATTR_APP, tracer } from './tracer';

/** The W3C header carrying a span's identity from one hop to the next. */
const TRACEPARENT = 'traceparent';

/**
 * The `traceparent` of the active span (the request or message being handled),
 * to be stored with an outbox row and published as its Kafka header; undefined
 * when tracing is off or no span is active.
 */
export function currentTraceparent(): string | undefined {
  if (!isTracingEnabled()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier[TRACEPARENT];
}

export interface ConsumedMessageTrace {
  /** The app handling the message; carried as the `app` attribute. */
  app: string;
  topic: string;
  /** The message's Kafka headers; its `traceparent`, if valid, becomes the span's parent. */
  headers: Readonly<Record<string, string>>;
  attributes?: Attributes;
}

/** What a traced handler may add to its span (a no-op when tracing is off). */
export type SpanNotes = Pick<Span, 'setAttribute'>;

const NO_NOTES: SpanNotes = { setAttribute: () => NO_NOTES as Span };

/**
 * Runs `fn` inside a CONSUMER span `<topic> process`, the child of the
 * message's `traceparent` header (the span that wrote its outbox row), so the
 * message continues its producer's trace; without a valid header it starts a
 * new trace. Whatever `fn` writes to the outbox carries this span's
 * traceparent, so the next hop continues the same trace. A throw marks the
 * span as an error and is rethrown unchanged. With tracing off, `fn` just runs.
 */
export async function withConsumerSpan<T>(message: ConsumedMessageTrace, fn: (span: SpanNotes) => Promise<T>): Promise<T> {
  if (!isTracingEnabled()) return fn(NO_NOTES);
  const parent = propagation.extract(ROOT_CONTEXT, message.headers);
  const span = tracer().startSpan(
    `${message.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR_APP]: message.app,
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.topic,
        ...message.attributes,
      },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects are JSON-stringified; String() only sees primitives and functions
      span.recordException(error instanceof Error ? error : { message: typeof error === 'object' ? JSON.stringify(error) : String(error) });
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
