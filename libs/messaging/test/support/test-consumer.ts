import { AppName, EventEnvelope, Topics } from '@lib/events';
import { kafkaBrokers } from '@lib/infra';
import { eventually, orderConfirmed, paymentCompleted } from '@lib/testing';
import { Controller, INestApplication, Injectable, Module } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import {
  connectEventsTransport,
  CreateInbox1732250000001,
  EventsTransportOptions,
  KafkaEventContext,
  KafkaEventsTransport,
  TransportAwareExceptionFilter,
} from '../../src';

/**
 * The effect a test handler has: one row per handler run that committed. No
 * unique constraint on purpose — a second effect of one event must show up
 * as a second row, not be hidden by a conflict.
 */
export class CreateTestEffects1732250009999 implements MigrationInterface {
  name = 'CreateTestEffects1732250009999';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE test_effects (
        id              bigserial   PRIMARY KEY,
        event_id        uuid        NOT NULL,
        event_type      text        NOT NULL,
        order_id        text        NOT NULL,
        attempt         integer     NOT NULL,
        follow_up       jsonb       NOT NULL,
        handled_at      timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE test_effects`);
  }
}

/** What the tests make the handlers do, per order id; and how often each event reached a handler. */
@Injectable()
export class TestBehaviour {
  /** Events (ids) the handler throws for (a bug, a business rule). */
  readonly failing = new Set<string>();
  /** Extra time a handler takes for an order's events. */
  readonly delays = new Map<string, number>();
  /** Time every handler takes (the SIGKILL test slows the stream down). */
  defaultDelayMs = 0;
  /** Handler invocations per event id, committed or not. */
  readonly calls = new Map<string, number>();
}

/**
 * A consumer written the way the apps write theirs: `@EventPattern` per
 * topic, `@Payload()` the parsed event, `@Ctx()` the context its
 * transactional work is handed to (`ctx.inTransaction`). Its effect
 * is a row in `test_effects` holding the follow-up event it would publish
 * (created with `ctx.causedBy()`).
 */
@Controller()
export class TestEventsController {
  constructor(private readonly behaviour: TestBehaviour) {}

  @EventPattern(Topics.OrderCreated)
  async onOrderCreated(@Payload() event: EventEnvelope<'order.created'>, @Ctx() ctx: KafkaEventContext): Promise<void> {
    const { orderId, totalAmount, currency } = event.data;
    await this.effect(event, ctx, orderId, () => paymentCompleted({ orderId, amount: totalAmount, currency }, ctx.causedBy()));
  }

  @EventPattern(Topics.PaymentCompleted)
  async onPaymentCompleted(@Payload() event: EventEnvelope<'payment.completed'>, @Ctx() ctx: KafkaEventContext): Promise<void> {
    const { orderId, paymentId, amount, currency } = event.data;
    await this.effect(event, ctx, orderId, () => orderConfirmed({ orderId, paymentId, totalAmount: amount, currency }, ctx.causedBy()));
  }

  /** Phase 1 (no transaction) takes the handler's time; the effect, or the refusal, happens in the delivery's transaction. */
  private async effect(event: EventEnvelope, ctx: KafkaEventContext, orderId: string, followUp: () => EventEnvelope): Promise<void> {
    this.behaviour.calls.set(event.id, (this.behaviour.calls.get(event.id) ?? 0) + 1);
    const delay = this.behaviour.delays.get(orderId) ?? this.behaviour.defaultDelayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    ctx.inTransaction(async (tx) => {
      if (this.behaviour.failing.has(event.id)) throw new Error(`test handler refuses event ${event.id} of order ${orderId}`);
      await tx.query(`INSERT INTO test_effects (event_id, event_type, order_id, attempt, follow_up) VALUES ($1, $2, $3, $4, $5)`, [
        event.id,
        event.type,
        orderId,
        ctx.attempt,
        JSON.stringify(followUp()),
      ]);
    });
  }
}

@Module({
  controllers: [TestEventsController],
  providers: [TestBehaviour, { provide: APP_FILTER, useClass: TransportAwareExceptionFilter }],
})
export class TestConsumerModule {}

export interface TestConsumerOptions extends Omit<EventsTransportOptions, 'kafka'> {
  app: AppName;
  groupId: string;
  topicPrefix: string;
  databaseUrl: string;
  brokers?: string[];
}

export interface TestConsumer {
  app: INestApplication;
  transport: KafkaEventsTransport;
  behaviour: TestBehaviour;
  dataSource: DataSource;
  close(): Promise<void>;
}

/** Migrates a test database: the inbox of `@lib/messaging` and the test effects table. */
export async function migrateTestDatabase(url: string): Promise<void> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations: [CreateInbox1732250000001, CreateTestEffects1732250009999] });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Boots the test consumer as the apps boot theirs (libs/service): a Nest app
 * with the exception filter as APP_FILTER (for HTTP), the transport connected
 * as a microservice with the filter applied to it, the pool failing fast when
 * the database is down. Resolves once the consumer group is joined.
 */
export async function startTestConsumer(options: TestConsumerOptions): Promise<TestConsumer> {
  const { databaseUrl, brokers, ...transportOptions } = options;
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl,
    extra: { connectionTimeoutMillis: 5000, max: 10 },
  });
  await dataSource.initialize();
  const transport = new KafkaEventsTransport(
    {
      ...transportOptions,
      kafka: { brokers: brokers ?? kafkaBrokers(), clientId: `${options.groupId}-consumer` },
    },
    dataSource,
  );
  const app = await NestFactory.create(TestConsumerModule, { logger: ['error', 'warn'], abortOnError: false });
  // Not a bare app.connectMicroservice(): APP_FILTER does not reach a hybrid app's microservice (see connectEventsTransport).
  connectEventsTransport(app, transport);
  await app.startAllMicroservices();
  await app.init();
  await eventually(() => transport.stats().state === 'joined', { timeoutMs: 30_000, what: `consumer group ${options.groupId} joined` });
  return {
    app,
    transport,
    behaviour: app.get(TestBehaviour),
    dataSource,
    close: async () => {
      await app.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}
