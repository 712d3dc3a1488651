import { EventTypes } from '@lib/events';
import { EventPublisher } from '@lib/outbox';
import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderStatus, PAYMENT_TIMEOUT } from '../../domain/order';
import { OrderRecord } from '../../infrastructure/order.record';

/**
 * The saga deadline: cancels, in the caller's transaction, up to `limit`
 * `PENDING` orders placed more than `deadlineMs` ago — `CANCELLED` with
 * reason `payment_timeout` and `order.cancelled` published — so that an order
 * whose `order.created` or payment event was parked or dead-lettered does not
 * stay pending forever. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so
 * several instances sweep side by side, and an order a payment event is
 * settling at that moment is left to it (that event wins; see the order
 * service page for the races). Resolves with the ids it cancelled.
 */
@Injectable()
export class ExpireOverdueOrdersHandler {
  private readonly log = new Logger(ExpireOverdueOrdersHandler.name);

  constructor(private readonly events: EventPublisher) {}

  async execute(tx: EntityManager, deadlineMs: number, limit = 100): Promise<string[]> {
    const overdue = await tx
      .createQueryBuilder(OrderRecord, 'o')
      .where('o.status = :pending', { pending: OrderStatus.Pending })
      .andWhere(`o.created_at < now() - :deadline * interval '1 millisecond'`, { deadline: deadlineMs })
      .orderBy('o.created_at')
      .limit(limit)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
    for (const order of overdue) {
      order.status = OrderStatus.Cancelled;
      order.statusReason = PAYMENT_TIMEOUT;
      await tx.save(order);
      const { id: orderId, totalAmount, currency } = order;
      // Nothing caused it but the clock: the order's own correlation id, no causation.
      await this.events.publish(
        tx,
        EventTypes.OrderCancelled,
        { orderId, reason: PAYMENT_TIMEOUT, totalAmount, currency },
        { correlationId: order.correlationId, causationId: null },
      );
      this.log.warn(`order ${orderId} CANCELLED: no payment within ${deadlineMs} ms (${PAYMENT_TIMEOUT}) (correlationId ${order.correlationId})`);
    }
    return overdue.map((order) => order.id);
  }
}
