import { ArgumentsHost, Catch } from '@nestjs/common';
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
 *   a 500 without details; never a stack trace in a response).
 */
@Catch()
export class TransportAwareExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}
