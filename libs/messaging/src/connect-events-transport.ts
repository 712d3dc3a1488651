import { INestApplication } from '@nestjs/common';
import { NestMicroservice } from '@nestjs/microservices';
import { KafkaEventsTransport } from './kafka-events.transport';
import { TransportAwareExceptionFilter } from './transport-aware-exception.filter';

/**
 * Connects the events transport to a Nest (hybrid) app with the
 * {@link TransportAwareExceptionFilter} applied to its handlers. Use this
 * instead of a bare `app.connectMicroservice({ strategy })`:
 *
 * - A hybrid app's microservice does not get the app's global enhancers, and
 *   APP_FILTER providers are global enhancers of the app: without this, Nest's
 *   default RPC filter hands the transport `{ status: 'error', message:
 *   'Internal server error' }` for every error, so a database outage cannot be
 *   told from a handler bug — the transport would count attempts and
 *   dead-letter messages while the database is down.
 * - `inheritAppConfig: true` is no way out: it would also apply the HTTP
 *   ValidationPipe to `@Ctx()` (a class, so it is validated and rebuilt) and
 *   break every handler.
 * - Handlers get their filters when listeners are registered, which a
 *   non-deferred `connectMicroservice` does at once; so the microservice is
 *   created deferred, given the filter, and then registered exactly as Nest
 *   does it itself (no second round of init hooks).
 */
export function connectEventsTransport(app: INestApplication, transport: KafkaEventsTransport): NestMicroservice {
  const microservice = app.connectMicroservice({ strategy: transport }, { deferInitialization: true }) as unknown as NestMicroservice;
  microservice.useGlobalFilters(new TransportAwareExceptionFilter());
  microservice.registerListeners();
  microservice.setIsInitialized(true);
  microservice.setIsInitHookCalled(true);
  return microservice;
}
