import { AppName } from '@lib/events';
import { CreateInbox1732250000001 } from '@lib/messaging';
import { CreateOutbox1732250000000, OutboxRelayLease1732250000002 } from '@lib/outbox';
import type { KafkaConnectionOptions } from '@lib/kafka/kafka-config';
import { CommonEnv } from './config/common-env';
import { kafkaClientSettings } from './config/kafka-client-env';

/** What makes one app of the system: its name, config class, database and whether it publishes. */
export interface ServiceDefinition<E extends CommonEnv = CommonEnv> {
  app: AppName;
  env: new () => E;
  port(env: E): number;
  databaseUrl(env: E): string;
  /** The URL migrations run with: a role that owns the schema (see {@link migrationUrl}). */
  migrationDatabaseUrl?(env: E): string;
  /** TypeORM entities of the app. */
  entities: Function[];
  /** The app's own migrations; the outbox and inbox tables are added for every app. */
  migrations: Function[];
  /** Runs an outbox relay (apps that publish events). */
  publishes: boolean;
  /**
   * Look each consumed event up in the inbox before its handler's first phase
   * (before the transaction) runs: one read per message, one per batch in
   * batch mode. Needed when a first phase has an effect a redelivery must not
   * repeat (a gateway call) and does not guard that effect itself. Without
   * it the inbox insert in the transaction decides alone, as it always does
   * in the end. Default true.
   */
  duplicatePrecheck?: boolean;
}

/** Every migration of an app's database, in order: the outbox (apps that publish), the inbox, then the app's own. */
export function serviceMigrations(definition: Pick<ServiceDefinition, 'publishes' | 'migrations'>): Function[] {
  return [...(definition.publishes ? [CreateOutbox1732250000000, OutboxRelayLease1732250000002] : []), CreateInbox1732250000001, ...definition.migrations];
}

/**
 * The migration URL: as given; else the owner role's default while the
 * runtime URL is the default one; else the runtime URL (one URL for both).
 * libs/infra's `migrationDatabaseUrl` applies the same rule for infra:up.
 */
export function migrationUrl(runtime: string, given: string | undefined, defaults: { runtime: string; owner: string }): string {
  if (given) return given;
  return runtime === defaults.runtime ? defaults.owner : runtime;
}

/** Injection tokens of the service kit. */
export const SERVICE_DEFINITION = Symbol('SERVICE_DEFINITION');
export const SERVICE_ENV = Symbol('SERVICE_ENV');

/** The Kafka connection settings of an app, from its validated env (the tools use the same translation: libs/infra's toolKafkaConnection). */
export function kafkaConnection(app: AppName | 'console', env: CommonEnv, suffix = ''): KafkaConnectionOptions {
  return { ...kafkaClientSettings(env), clientId: `${app}${suffix}` };
}
