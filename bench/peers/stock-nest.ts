/**
 * Peer (a) of `npm run bench:saga`: the stock NestJS way — TypeORM
 * repositories, `ValidationPipe` DTOs, `@nestjs/microservices`' Kafka
 * transport (`ClientKafka.emit` after the `save`, `@EventPattern` handlers),
 * no outbox, no inbox. Unsafe the same way as the dual-write peer (a crash
 * between save and emit loses the event); same flow, HTTP API, payment rule
 * and notification effect as the apps.
 *
 * One process per service: PEER_ROLE = order | payment | notification, with
 * DATABASE_URL (its own database; `synchronize: true` creates the table),
 * KAFKA_BROKERS, TOPIC_PREFIX, PORT, PAYMENT_MAX_AMOUNT (default 100000).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Inject, Injectable, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, ClientsModule, EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsInt, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { lastValueFrom } from 'rxjs';
import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, Repository, UpdateDateColumn } from 'typeorm';

const role = process.env.PEER_ROLE as 'order' | 'payment' | 'notification';
const prefix = process.env.TOPIC_PREFIX ?? 'nest.';
const limit = Number(process.env.PAYMENT_MAX_AMOUNT ?? 100_000);
const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const KAFKA = 'KAFKA';

interface Envelope {
  id: string;
  type: string;
  version: 1;
  occurredAt: string;
  source: string;
  correlationId: string;
  causationId: string | null;
  data: Record<string, unknown> & { orderId: string };
}
function envelope(type: string, data: Envelope['data'], correlationId: string, causationId: string | null): Envelope {
  return { id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), source: role, correlationId, causationId, data };
}
/** `ClientKafka.emit`, keyed by the order, waited for (acks=-1, the kafkajs default). */
async function emit(client: ClientKafka, event: Envelope): Promise<void> {
  await lastValueFrom(client.emit(`${prefix}${event.type}`, { key: event.data.orderId, value: JSON.stringify(event) }), { defaultValue: undefined });
}

// ---- entities ---------------------------------------------------------------------------------

@Entity('orders')
class OrderRow {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'customer_id' }) customerId: string;
  @Column() status: string;
  @Column('jsonb') items: ItemDto[];
  @Column({ name: 'total_amount', type: 'bigint' }) totalAmount: string;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ name: 'correlation_id' }) correlationId: string;
  @Column({ name: 'status_reason', type: 'text', nullable: true }) statusReason: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

@Entity('payments')
class PaymentRow {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'order_id', type: 'uuid', unique: true }) orderId: string;
  @Column() status: string;
  @Column({ type: 'text', nullable: true }) reason: string | null;
  @Column({ type: 'bigint' }) amount: string;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ name: 'correlation_id' }) correlationId: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('notifications')
class NotificationRow {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'event_id', type: 'uuid' }) eventId: string;
  @Column({ name: 'event_type' }) eventType: string;
  @Column({ name: 'order_id', type: 'uuid' }) orderId: string;
  @Column() channel: string;
  @Column() subject: string;
  @Column() body: string;
  @Column({ name: 'correlation_id' }) correlationId: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

// ---- order ------------------------------------------------------------------------------------

class ItemDto {
  @IsString() @Length(1, 64) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
  @IsInt() @Min(0) unitPrice: number;
}
class CreateOrderDto {
  @IsString() @Length(1, 64) customerId: string;
  @Matches(/^[A-Z]{3}$/) currency: string;
  @ValidateNested({ each: true }) @Type(() => ItemDto) @ArrayMinSize(1) @ArrayMaxSize(100) items: ItemDto[];
}

@Controller()
class HealthController {
  @Get('health') health() {
    return { status: 'ok' };
  }
}

@Injectable()
class OrderService {
  constructor(
    @InjectRepository(OrderRow) private readonly orders: Repository<OrderRow>,
    @Inject(KAFKA) private readonly kafka: ClientKafka,
  ) {}

  async place(dto: CreateOrderDto) {
    const totalAmount = dto.items.reduce((n, i) => n + i.quantity * i.unitPrice, 0);
    const order = await this.orders.save(
      this.orders.create({
        id: randomUUID(),
        customerId: dto.customerId,
        status: 'PENDING',
        items: dto.items,
        totalAmount: String(totalAmount),
        currency: dto.currency,
        correlationId: randomUUID(),
        statusReason: null,
      }),
    );
    await emit(
      this.kafka,
      envelope(
        'order.created',
        { orderId: order.id, customerId: order.customerId, items: order.items, totalAmount, currency: order.currency },
        order.correlationId,
        null,
      ),
    );
    return {
      id: order.id,
      status: order.status,
      customerId: order.customerId,
      items: order.items,
      totalAmount,
      currency: order.currency,
      createdAt: order.createdAt,
    };
  }

  async settle(event: Envelope) {
    const order = await this.orders.findOneBy({ id: event.data.orderId });
    if (!order || order.status !== 'PENDING') return;
    const confirmed = event.type === 'payment.completed';
    order.status = confirmed ? 'CONFIRMED' : 'CANCELLED';
    order.statusReason = confirmed ? null : String(event.data.reason);
    await this.orders.save(order);
    await emit(
      this.kafka,
      envelope(
        confirmed ? 'order.confirmed' : 'order.cancelled',
        confirmed ? { orderId: order.id } : { orderId: order.id, reason: order.statusReason },
        event.correlationId,
        event.id,
      ),
    );
  }
}

@Controller()
class OrderController {
  constructor(private readonly service: OrderService) {}

  @Post('orders') place(@Body() dto: CreateOrderDto) {
    return this.service.place(dto);
  }

  @EventPattern(`${prefix}payment.completed`) completed(@Payload() event: Envelope) {
    return this.service.settle(event);
  }

  @EventPattern(`${prefix}payment.failed`) failed(@Payload() event: Envelope) {
    return this.service.settle(event);
  }
}

// ---- payment ----------------------------------------------------------------------------------

@Controller()
class PaymentController {
  constructor(
    @InjectRepository(PaymentRow) private readonly payments: Repository<PaymentRow>,
    @Inject(KAFKA) private readonly kafka: ClientKafka,
  ) {}

  @EventPattern(`${prefix}order.created`) async pay(@Payload() event: Envelope) {
    const amount = Number(event.data.totalAmount);
    const authorized = amount <= limit;
    const payment = await this.payments.save(
      this.payments.create({
        id: randomUUID(),
        orderId: event.data.orderId,
        status: authorized ? 'AUTHORIZED' : 'DECLINED',
        reason: authorized ? null : 'limit_exceeded',
        amount: String(amount),
        currency: String(event.data.currency),
        correlationId: event.correlationId,
      }),
    );
    await emit(
      this.kafka,
      envelope(
        authorized ? 'payment.completed' : 'payment.failed',
        authorized
          ? { orderId: payment.orderId, paymentId: payment.id, amount, currency: payment.currency }
          : { orderId: payment.orderId, paymentId: payment.id, reason: 'limit_exceeded' },
        event.correlationId,
        event.id,
      ),
    );
  }
}

// ---- notification -----------------------------------------------------------------------------

@Controller()
class NotificationController {
  constructor(@InjectRepository(NotificationRow) private readonly notifications: Repository<NotificationRow>) {}

  private async store(event: Envelope) {
    await this.notifications.save(
      this.notifications.create({
        eventId: event.id,
        eventType: event.type,
        orderId: event.data.orderId,
        channel: 'log',
        subject: `${event.type} ${event.data.orderId}`,
        body: JSON.stringify(event.data),
        correlationId: event.correlationId,
      }),
    );
  }

  @EventPattern(`${prefix}order.created`) created(@Payload() event: Envelope) {
    return this.store(event);
  }
  @EventPattern(`${prefix}order.confirmed`) confirmed(@Payload() event: Envelope) {
    return this.store(event);
  }
  @EventPattern(`${prefix}order.cancelled`) cancelled(@Payload() event: Envelope) {
    return this.store(event);
  }
  @EventPattern(`${prefix}payment.failed`) failed(@Payload() event: Envelope) {
    return this.store(event);
  }
}

// ---- the module of one role ---------------------------------------------------------------------

const roles = {
  order: { entity: OrderRow, controllers: [OrderController], providers: [OrderService] },
  payment: { entity: PaymentRow, controllers: [PaymentController], providers: [] },
  notification: { entity: NotificationRow, controllers: [NotificationController], providers: [] },
};

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, entities: [roles[role].entity], synchronize: true, extra: { max: 10 } }),
    TypeOrmModule.forFeature([roles[role].entity]),
    ClientsModule.register([
      {
        name: KAFKA,
        transport: Transport.KAFKA,
        options: { client: { clientId: `nest-${role}`, brokers }, producerOnlyMode: true, producer: { idempotent: true, maxInFlightRequests: 1 } },
      },
    ]),
  ],
  controllers: [HealthController, ...roles[role].controllers],
  providers: roles[role].providers,
})
class PeerModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(PeerModule, { logger: ['error', 'warn'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.KAFKA,
    options: {
      client: { clientId: `nest-${role}`, brokers },
      consumer: { groupId: `nest-${role}` },
      subscribe: { fromBeginning: true },
      run: { partitionsConsumedConcurrently: 3 },
    },
  });
  await app.get<ClientKafka>(KAFKA).connect();
  await app.startAllMicroservices();
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
}

main().catch((error: Error) => {
  console.error(`stock-nest ${role} failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
