import { Attributes, context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTracingEnabled } from './init-tracing';
import { ATTR_APP, tracer } from './tracer';

type RoutedRequest = IncomingMessage & { route?: { path?: string }; originalUrl?: string };

export interface HttpTracingOptions {
  /** The app serving the request; every span carries it as the `app` attribute. */
  app: string;
  /** Further attributes of a request's span, read when the response is finished (e.g. its correlation id). */
  attributes?: (req: IncomingMessage) => Attributes;
}

/**
 * Express/Connect middleware: one SERVER span per request, the child of the
 * request's `traceparent` header when it has a valid one (a caller's trace is
 * continued), else the root of a new trace. Everything the request causes —
 * outbox rows included, see `currentTraceparent` — runs inside it.
 * The span is named `<METHOD> <route pattern>` (never the raw URL, which
 * carries ids) and ends when the response is sent or the connection closes;
 * 5xx answers mark it as an error. With tracing off it only calls `next()`.
 */
export function httpTracingMiddleware(options: HttpTracingOptions) {
  return (req: RoutedRequest, res: ServerResponse, next: () => void): void => {
    if (!isTracingEnabled()) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      req.method ?? 'HTTP',
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_APP]: options.app,
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: (req.originalUrl ?? req.url ?? '').split('?')[0],
        },
      },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = req.route?.path;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (options.attributes) span.setAttributes(options.attributes(req));
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
