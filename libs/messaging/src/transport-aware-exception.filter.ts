import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Observable, throwError } from 'rxjs';

/**
 * Registered as the app's global filter (APP_FILTER), so it applies to HTTP
 * and to the Kafka transport alike.
 *
 * - Kafka handlers: Nest's default RPC filter turns every error into
 *   `{ status: 'error', message: 'Internal server error' }`, which would hide
 *   from the transport whether the database was down (wait) or the handler
 *   failed (retry, then dead-letter). Here the original error goes back.
 * - HTTP: Nest's standard handling (HttpExceptions as they are, anything else
 *   a 500 without details; never a stack trace in a response). Client errors
 *   raised before a controller runs — the body parser's "request entity too
 *   large" (413) or "malformed JSON" (400) — keep their status and readable
 *   message and are not logged as server errors.
 */
@Catch()
export class TransportAwareExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(asClientError(exception) ?? exception, host);
  }
}

/** http-errors style client errors (`status` 4xx, `expose: true`), as body-parser throws them. */
function asClientError(exception: unknown): HttpException | null {
  if (exception instanceof HttpException) return null;
  const e = exception as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500 || e.expose !== true) return null;
  return new HttpException({ statusCode: e.status, message: String(e.message) }, e.status);
}
