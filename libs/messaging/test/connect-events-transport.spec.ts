import 'reflect-metadata';
import { EventEnvelope, Topics } from '@lib/events';
import { orderCreated } from '@lib/testing';
import { Controller, INestApplication, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { isObservable, lastValueFrom, of } from 'rxjs';
import { DataSource } from 'typeorm';
import { connectEventsTransport, KafkaEventContext, KafkaEventsTransport, TransportAwareExceptionFilter } from '../src';

const seen: { event?: unknown; ctx?: unknown } = {};
const databaseDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

@Controller()
class ProbeController {
  @EventPattern(Topics.OrderCreated)
  onOrderCreated(@Payload() event: EventEnvelope<'order.created'>, @Ctx() ctx: KafkaEventContext): void {
    seen.event = event;
    seen.ctx = ctx;
  }

  @EventPattern(Topics.PaymentCompleted)
  onPaymentCompleted(): void {
    throw databaseDown;
  }
}

@Module({ controllers: [ProbeController], providers: [{ provide: APP_FILTER, useClass: TransportAwareExceptionFilter }] })
class ProbeModule {}

/**
 * connectEventsTransport relies on how Nest 11 applies an app's global
 * enhancers to a hybrid microservice (`inheritAppConfig`). These tests pin
 * that behaviour without a broker: the handlers Nest registers on the
 * transport are called directly, as the transport calls them.
 */
describe('connectEventsTransport', () => {
  let app: INestApplication;
  let transport: KafkaEventsTransport;

  beforeAll(async () => {
    app = await NestFactory.create(ProbeModule, { logger: false, abortOnError: false });
    // The same request validation as bootstrapService's.
    app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
    transport = new KafkaEventsTransport(
      { app: 'payment', kafka: { brokers: ['127.0.0.1:9'], clientId: 'connect-test' } },
      new DataSource({ type: 'postgres' }),
    );
    connectEventsTransport(app, transport);
  });

  afterAll(async () => {
    await app.close();
  });

  const call = async (pattern: string, event: EventEnvelope, ctx: KafkaEventContext) => {
    const result: unknown = await transport.getHandlerByPattern(pattern)!(event, ctx);
    return lastValueFrom(isObservable(result) ? result : of(result), { defaultValue: undefined });
  };
  const contextOf = (event: EventEnvelope) =>
    new KafkaEventContext([{ topic: event.type, partition: 0, offset: '0', key: null, value: null, headers: {}, timestamp: '0' }, event, 1]);

  it("hands a handler the very event and context the transport passed, through the app's global ValidationPipe", async () => {
    const event = orderCreated();
    const ctx = contextOf(event);
    await call(Topics.OrderCreated, event, ctx);
    expect(seen.ctx).toBe(ctx);
    expect(seen.event).toBe(event);
  });

  it("gives the transport a handler's original error (the app's exception filter applies), not Nest's generic \"Internal server error\"", async () => {
    const event = orderCreated();
    await expect(call(Topics.PaymentCompleted, event, contextOf(event))).rejects.toBe(databaseDown);
  });
});
