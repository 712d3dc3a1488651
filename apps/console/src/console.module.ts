import { AppName, Apps } from '@lib/events';
import { KafkaProbe } from '@lib/kafka';
import { kafkaConnection } from '@lib/service';
import { DynamicModule, Inject, Injectable, Module, OnModuleDestroy } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConsoleEnv } from './config/console.env';
import { DeadLetterActions } from './dead-letters/dead-letter-actions';
import { DeadLetterIngester } from './dead-letters/dead-letter-ingester';
import { DeadLetterStore } from './dead-letters/dead-letter-store';
import { CreateConsole1732250000300 } from './migrations/1732250000300-create-console';
import { Sampler } from './overview/sampler';
import { AppClient } from './upstream/app-client';
import { ApiController, ConsoleHealthController } from './web/api.controller';
import { CONSOLE_TOKEN } from './web/console-token';
import { ConsoleController } from './web/console.controller';
import { APP_CLIENTS, SAMPLE_INTERVAL_MS } from './web/tokens';

/** The console's migrations, in order. */
export const CONSOLE_MIGRATIONS = [CreateConsole1732250000300];

/** Stops the sampler and the dead-letter consumer with the app (started by bootstrapConsole once migrations ran). */
@Injectable()
class ConsoleLifecycle implements OnModuleDestroy {
  constructor(
    @Inject(Sampler) private readonly sampler: Sampler,
    @Inject(DeadLetterIngester) private readonly ingester: DeadLetterIngester,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.sampler.stop();
    await this.ingester.stop();
  }
}

/**
 * The ops console: its own database (dead letters read from Kafka, operator
 * actions), a consumer on the dead-letter topics, a sampler of the apps, the
 * pages and the JSON API. It reads the apps only through their HTTP APIs and
 * Kafka, never their databases.
 */
@Module({})
export class ConsoleModule {
  static forEnv(env: ConsoleEnv, token: string): DynamicModule {
    const urls: Record<AppName, string> = { order: env.CONSOLE_ORDER_URL, payment: env.CONSOLE_PAYMENT_URL, notification: env.CONSOLE_NOTIFICATION_URL };
    const clients = Object.fromEntries(
      Apps.map((app) => [app, new AppClient({ app, url: urls[app].replace(/\/$/, ''), adminToken: env.ADMIN_TOKEN })]),
    ) as Record<AppName, AppClient>;
    return {
      module: ConsoleModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: env.CONSOLE_DATABASE_URL,
          migrations: CONSOLE_MIGRATIONS,
          synchronize: false,
          migrationsRun: false,
          extra: { connectionTimeoutMillis: 5000, max: 5 },
          retryAttempts: 10,
          retryDelay: 1000,
        }),
      ],
      controllers: [ConsoleController, ApiController, ConsoleHealthController],
      providers: [
        DeadLetterStore,
        { provide: CONSOLE_TOKEN, useValue: token },
        { provide: APP_CLIENTS, useValue: clients },
        { provide: SAMPLE_INTERVAL_MS, useValue: env.CONSOLE_SAMPLE_INTERVAL_MS },
        {
          provide: DeadLetterIngester,
          useFactory: (store: DeadLetterStore) => new DeadLetterIngester(kafkaConnection('console', env, '-dead-letters'), store),
          inject: [DeadLetterStore],
        },
        {
          provide: DeadLetterActions,
          useFactory: (store: DeadLetterStore) => new DeadLetterActions(kafkaConnection('console', env, '-actions'), store),
          inject: [DeadLetterStore],
        },
        {
          provide: Sampler,
          useFactory: (store: DeadLetterStore) =>
            new Sampler(clients, new KafkaProbe(kafkaConnection('console', env, '-sampler')), store, env.CONSOLE_SAMPLE_INTERVAL_MS),
          inject: [DeadLetterStore],
        },
        ConsoleLifecycle,
      ],
    };
  }
}
