import { ArgumentsHost, Catch, HttpException, Logger, ServiceUnavailableException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Observable, throwError } from 'rxjs';
import { isDatabaseUnavailable } from './policies/failure-classes';

/** Seconds a client is asked to wait before retrying a request refused while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

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
 *   message and are not logged as server errors. A database outage (the
 *   app's PostgreSQL refusing, dropping or terminating connections) is not a
 *   server bug: `503 Service Unavailable` with `Retry-After`, logged as a
 *   database outage (one warning line, no stack). A retry with the same
 *   `Idempotency-Key` is safe: the request's transaction did not commit.
 */
@Catch()
export class TransportAwareExceptionFilter extends BaseExceptionFilter {
  private readonly log = new Logger('HttpExceptions');

  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    if (!(exception instanceof HttpException) && isDatabaseUnavailable(exception)) return this.databaseUnavailable(exception, host);
    return super.catch(asClientError(exception) ?? exception, host);
  }

  private databaseUnavailable(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<{ method?: string; url?: string }>();
    const reason = exception instanceof Error ? exception.message : JSON.stringify(exception);
    this.log.warn(`database unavailable: ${request.method ?? ''} ${request.url ?? ''} answered 503, retry after ${DATABASE_RETRY_AFTER_SECONDS} s (${reason})`);
    host.switchToHttp().getResponse<{ setHeader(name: string, value: string): void }>().setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    super.catch(
      new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} s (with the same Idempotency-Key)`,
      }),
      host,
    );
  }
}

/** http-errors style client errors (`status` 4xx, `expose: true`), as body-parser throws them. */
function asClientError(exception: unknown): HttpException | null {
  if (exception instanceof HttpException) return null;
  const e = exception as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500 || e.expose !== true) return null;
  return new HttpException({ statusCode: e.status, message: String(e.message) }, e.status);
}
