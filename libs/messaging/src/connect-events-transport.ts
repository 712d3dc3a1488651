import { INestApplication, INestMicroservice } from '@nestjs/common';
import { KafkaEventsTransport } from './kafka-events.transport';

/**
 * Connects the events transport to a Nest (hybrid) app, so that its handlers
 * get the app's global enhancers — above all the TransportAwareExceptionFilter
 * that ServiceModule registers as APP_FILTER. Public API only:
 * `connectMicroservice(…, { inheritAppConfig: true })`
 * (https://docs.nestjs.com/faq/hybrid-application).
 *
 * - Why the filter matters: a hybrid app's microservice does not get the
 *   app's global enhancers by default, and then Nest's default RPC filter
 *   hands the transport `{ status: 'error', message: 'Internal server error' }`
 *   for every error, so a database outage cannot be told from a handler bug —
 *   the transport would count attempts and dead-letter messages while the
 *   database is down.
 * - What else it brings: the app's global pipes, i.e. the HTTP
 *   ValidationPipe (whitelist, transform). It leaves event handlers alone:
 *   Nest hands pipes `@Ctx()` as a 'custom' parameter, which ValidationPipe
 *   skips, and `@Payload()` typed as `EventEnvelope<…>` (a type, not a class)
 *   has the metatype Object, which it skips too. (A handler declaring its
 *   payload as a class would have it validated again; don't — the transport
 *   validated the event already.) Both behaviours are Nest internals we rely
 *   on, pinned by `libs/messaging/test/connect-events-transport.spec.ts`.
 */
export function connectEventsTransport(app: INestApplication, transport: KafkaEventsTransport): INestMicroservice {
  return app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
}
