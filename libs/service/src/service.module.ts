import { DurableProducer, KafkaProbe } from '@lib/kafka';
import { DeadLetterSink, KafkaDeadLetterSink, KafkaEventsTransport, TransportAwareExceptionFilter } from '@lib/messaging';
import { EventPublisher, listenedPgClient, OutboxEventPublisher, OutboxRelay } from '@lib/outbox';
import { flushTracing } from '@lib/tracing';
import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
  Optional,
  Provider,
  Type,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AdminController } from './admin/admin.controller';
import { CommonEnv } from './config/common-env';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { ScrapedMetrics, ServiceMetrics } from './metrics/service-metrics';
import { databaseSessionSettings } from './database';
import { GracefulShutdown, ShutdownState } from './shutdown';
import { kafkaConnection, SERVICE_DEFINITION, SERVICE_ENV, ServiceDefinition, serviceMigrations } from './service-definition';

/** Starts the outbox relay once the app is up; GracefulShutdown stops it (after the HTTP server and the consumer drained). */
@Injectable()
class OutboxRelayLifecycle implements OnApplicationBootstrap {
  constructor(@Optional() private readonly relay?: OutboxRelay) {}

  onApplicationBootstrap(): void {
    this.relay?.start();
  }
}

/** Says when a shutdown is done, so operators can tell a clean stop from a crash (GracefulShutdown says when it starts). */
@Injectable()
class ShutdownAnnouncer implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly log = new Logger('Shutdown');
  private started = 0;

  beforeApplicationShutdown(): void {
    this.started = Date.now();
  }

  onApplicationShutdown(): void {
    this.log.log(`stopped cleanly in ${Date.now() - this.started} ms`);
  }
}

/** Exports the spans still buffered once the app has stopped (a no-op with tracing off). */
@Injectable()
class TracingLifecycle implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await flushTracing();
  }
}

/** Closes the health probe with the modules, and the dead-letter producer last: the consumer and app code may dead-letter until they stop. */
@Injectable()
class KafkaClientsLifecycle implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(KafkaProbe) private readonly probe: KafkaProbe,
    private readonly deadLetters: DeadLetterSink,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.probe.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.deadLetters.close();
  }
}

/**
 * The root module of an app booted by `bootstrapService`: the app's own
 * module plus the environment validated for this boot, provided globally as
 * `SERVICE_ENV`. The environment is validated once per boot, before Nest
 * starts, and everything (ServiceModule, TypeORM, the app's providers) shares
 * that one config object.
 */
@Module({})
export class ServiceRootModule {
  static boot<E extends CommonEnv>(appModule: Type<unknown>, env: E): DynamicModule {
    return { module: ServiceRootModule, global: true, imports: [appModule], providers: [{ provide: SERVICE_ENV, useValue: env }], exports: [SERVICE_ENV] };
  }
}

/**
 * Everything an app of the system has in common, composed once: the
 * validated config (`SERVICE_ENV`, from {@link ServiceRootModule}), its own
 * database with migrations, the Kafka consumer transport (inbox, retries,
 * dead letters) and its dead-letter sink, the event publisher port (over the
 * outbox) and the outbox relay, and health.
 * An app module imports `ServiceModule.forApp(definition)` and adds its own
 * domain modules.
 */
@Module({})
export class ServiceModule {
  static forApp<E extends CommonEnv>(definition: ServiceDefinition<E>): DynamicModule {
    const providers: Provider[] = [
      { provide: SERVICE_DEFINITION, useValue: definition },
      { provide: KafkaProbe, useFactory: (e: E) => new KafkaProbe(kafkaConnection(definition.app, e, '-health')), inject: [SERVICE_ENV] },
      {
        // The app's poison-message policy: its `<app>.dlq` topic. Shared by the consumer and by app code that dead-letters.
        provide: DeadLetterSink,
        useFactory: (e: E) => new KafkaDeadLetterSink({ app: definition.app, groupId: definition.app, kafka: kafkaConnection(definition.app, e, '-dlq') }),
        inject: [SERVICE_ENV],
      },
      KafkaClientsLifecycle,
      {
        provide: KafkaEventsTransport,
        useFactory: (e: E, dataSource: DataSource, metrics: ServiceMetrics, deadLetters: DeadLetterSink) =>
          new KafkaEventsTransport(
            {
              app: definition.app,
              kafka: kafkaConnection(definition.app, e, '-consumer'),
              partitionsConsumedConcurrently: e.CONSUMER_CONCURRENCY,
              maxAttempts: e.CONSUMER_MAX_ATTEMPTS,
              retryBackoffMs: e.CONSUMER_RETRY_BACKOFF_MS,
              maxRetryBackoffMs: e.CONSUMER_MAX_RETRY_BACKOFF_MS,
              duplicatePrecheck: definition.duplicatePrecheck !== false,
              unitOfWork: e.CONSUMER_UNIT_OF_WORK,
              maxBatchMessages: e.CONSUMER_BATCH_MESSAGES,
              handlerTimeoutMs: e.CONSUMER_HANDLER_TIMEOUT_MS,
              stuckPartitionMs: e.CONSUMER_STUCK_PARTITION_SECONDS * 1000,
              restart: {
                initialDelayMs: e.CONSUMER_RESTART_INITIAL_DELAY_MS,
                maxDelayMs: e.CONSUMER_RESTART_MAX_DELAY_MS,
                maxRestarts: e.CONSUMER_RESTART_MAX,
                windowMs: e.CONSUMER_RESTART_WINDOW_SECONDS * 1000,
              },
              sessionTimeoutMs: e.CONSUMER_SESSION_TIMEOUT_MS,
              heartbeatIntervalMs: e.CONSUMER_HEARTBEAT_INTERVAL_MS,
              deadLetters,
              observer: metrics,
            },
            dataSource,
          ),
        inject: [SERVICE_ENV, DataSource, ServiceMetrics, DeadLetterSink],
      },
      { provide: APP_FILTER, useClass: TransportAwareExceptionFilter },
    ];
    if (definition.publishes) {
      providers.push(
        // The port application code publishes through: bound to this app, which is the events' source.
        { provide: EventPublisher, useValue: new OutboxEventPublisher(definition.app) },
        { provide: DurableProducer, useFactory: (e: E) => new DurableProducer(kafkaConnection(definition.app, e, '-outbox')), inject: [SERVICE_ENV] },
        {
          provide: OutboxRelay,
          useFactory: (e: E, producer: DurableProducer, metrics: ServiceMetrics) =>
            new OutboxRelay({
              connectionString: definition.databaseUrl(e),
              connection: databaseSessionSettings(e),
              publisher: producer,
              batchSize: e.OUTBOX_BATCH_SIZE,
              pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
              maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
              leaseMs: e.OUTBOX_LEASE_MS,
              logger: new Logger('OutboxRelay'),
              observer: metrics,
            }),
          inject: [SERVICE_ENV, DurableProducer, ServiceMetrics],
        },
      );
    }
    providers.push(OutboxRelayLifecycle, ShutdownState, GracefulShutdown, ShutdownAnnouncer, TracingLifecycle, ServiceMetrics, ScrapedMetrics);

    return {
      module: ServiceModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [SERVICE_ENV],
          useFactory: (e: E) => {
            const databaseLog = new Logger('Database');
            return {
              type: 'postgres' as const,
              url: definition.databaseUrl(e),
              entities: definition.entities,
              migrations: serviceMigrations(definition),
              synchronize: false,
              migrationsRun: false,
              // Fail fast when the database is down, so handlers see an infrastructure error and wait.
              // Statement, lock and idle-in-transaction timeouts and TCP keepalive on every pooled connection.
              // A client whose backend ends outside a query must not end the process (listenedPgClient).
              extra: {
                connectionTimeoutMillis: 5000,
                max: e.DATABASE_POOL_SIZE,
                ...databaseSessionSettings(e),
                Client: listenedPgClient((error) => databaseLog.warn(`a pooled database connection ended outside a query: ${error.message}`)),
              },
              retryAttempts: 10,
              retryDelay: 1000,
            };
          },
        }),
        TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 }),
      ],
      controllers: [HealthController, MetricsController, AdminController],
      providers,
      exports: [
        SERVICE_DEFINITION,
        KafkaEventsTransport,
        DeadLetterSink,
        KafkaProbe,
        ServiceMetrics,
        ...(definition.publishes ? [EventPublisher, OutboxRelay] : []),
      ],
    };
  }
}
