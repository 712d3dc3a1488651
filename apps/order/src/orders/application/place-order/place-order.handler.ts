import { EventTypes } from '@lib/events';
import { EventPublisher } from '@lib/outbox';
import { Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdempotencyConflictError, OrderItem, OrderStatus, orderTotal } from '../../domain/order';
import { OrderRecord } from '../../infrastructure/order.record';

export interface PlaceOrderCommand {
  customerId: string;
  currency: string;
  items: OrderItem[];
  correlationId: string;
  idempotencyKey?: string;
}

/**
 * Creates a `PENDING` order and its `order.created` event in one transaction.
 * With an Idempotency-Key, a retry of the same request returns the order it
 * created; the same key with another body is a conflict.
 */
@Injectable()
export class PlaceOrderHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventPublisher,
  ) {}

  async execute(command: PlaceOrderCommand): Promise<{ order: OrderRecord; created: boolean }> {
    const requestHash = command.idempotencyKey ? hashRequest(command) : null;
    if (command.idempotencyKey) {
      const existing = await this.findByKey(command.idempotencyKey, requestHash!);
      if (existing) return { order: existing, created: false };
    }
    try {
      return { order: await this.create(command, requestHash), created: true };
    } catch (error) {
      // Two concurrent requests with one key: the loser finds the winner's order.
      if (command.idempotencyKey && isUniqueViolation(error)) {
        const existing = await this.findByKey(command.idempotencyKey, requestHash!);
        if (existing) return { order: existing, created: false };
      }
      throw error;
    }
  }

  private create(command: PlaceOrderCommand, requestHash: string | null): Promise<OrderRecord> {
    return this.dataSource.transaction(async (tx) => {
      const order = tx.create(OrderRecord, {
        id: randomUUID(),
        customerId: command.customerId,
        status: OrderStatus.Pending,
        items: command.items.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
        totalAmount: orderTotal(command.items),
        currency: command.currency,
        correlationId: command.correlationId,
        idempotencyKey: command.idempotencyKey ?? null,
        requestHash,
        statusReason: null,
      });
      // INSERT … RETURNING fills in created_at / updated_at on `order` itself.
      await tx.insert(OrderRecord, order);
      await this.events.publish(
        tx,
        EventTypes.OrderCreated,
        { orderId: order.id, customerId: order.customerId, currency: order.currency, items: order.items, totalAmount: order.totalAmount },
        { correlationId: command.correlationId },
      );
      return order;
    });
  }

  private async findByKey(key: string, requestHash: string): Promise<OrderRecord | null> {
    const existing = await this.dataSource.getRepository(OrderRecord).findOneBy({ idempotencyKey: key });
    if (existing && existing.requestHash !== requestHash) throw new IdempotencyConflictError(key);
    return existing;
  }
}

function hashRequest(command: PlaceOrderCommand): string {
  const body = {
    customerId: command.customerId,
    currency: command.currency,
    items: command.items.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
  };
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { driverError?: { code?: string } }).driverError?.code === '23505';
}
