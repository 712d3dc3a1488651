import { EventTypes } from '@lib/events';
import { EventCause, EventPublisher } from '@lib/outbox';
import { ServiceMetrics } from '@lib/service';
import { Injectable, Logger } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { EntityManager } from 'typeorm';
import { canSettle, OrderNotFoundError, OrderStatus } from '../../domain/order';
import { OrderRecord } from '../../infrastructure/order.record';

export type PaymentOutcome = { kind: 'completed'; orderId: string; paymentId: string } | { kind: 'failed'; orderId: string; paymentId: string; reason: string };

/**
 * Settles a `PENDING` order from its payment outcome: `CONFIRMED` +
 * `order.confirmed`, or `CANCELLED` + `order.cancelled`, in the caller's
 * transaction (the consumer's, which also holds the inbox row). An order
 * already settled stays as it is: status never moves back.
 */
@Injectable()
export class SettleOrderHandler {
  private readonly log = new Logger(SettleOrderHandler.name);
  private readonly latency: Histogram<'status'>;

  constructor(
    private readonly events: EventPublisher,
    metrics: ServiceMetrics,
  ) {
    this.latency = new Histogram({
      name: 'order_settlement_latency_seconds',
      help: 'From POST /orders to the order confirmed or cancelled (the saga end to end)',
      labelNames: ['status'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [metrics.registry],
    });
  }

  async execute(tx: EntityManager, outcome: PaymentOutcome, cause: EventCause): Promise<void> {
    const order = await tx.findOne(OrderRecord, { where: { id: outcome.orderId }, lock: { mode: 'pessimistic_write' } });
    if (!order) throw new OrderNotFoundError(outcome.orderId);
    if (order.status === OrderStatus.Cancelled && outcome.kind === 'completed') {
      // Compensation: the order was cancelled (e.g. at its payment deadline) before its payment completed; ask for the money back.
      const { totalAmount: amount, currency } = order;
      const reason = order.statusReason ?? 'order_cancelled';
      await this.events.publish(tx, EventTypes.PaymentVoidRequested, { orderId: order.id, paymentId: outcome.paymentId, amount, currency, reason }, cause);
      this.log.warn(
        `order ${order.id} was already CANCELLED (${reason}); payment ${outcome.paymentId} completed late, void requested (correlationId ${cause.correlationId})`,
      );
      return;
    }
    if (!canSettle(order.status)) {
      this.log.warn(`order ${order.id} is already ${order.status}; payment ${outcome.kind} ignored (correlationId ${cause.correlationId})`);
      return;
    }
    const confirmed = outcome.kind === 'completed';
    order.status = confirmed ? OrderStatus.Confirmed : OrderStatus.Cancelled;
    order.statusReason = outcome.kind === 'failed' ? outcome.reason : null;
    // One UPDATE (save() would read the row again first); updated_at is set by TypeORM's @UpdateDateColumn.
    await tx.update(OrderRecord, { id: order.id }, { status: order.status, statusReason: order.statusReason });

    const { totalAmount, currency } = order;
    if (confirmed) {
      await this.events.publish(tx, EventTypes.OrderConfirmed, { orderId: order.id, paymentId: outcome.paymentId, totalAmount, currency }, cause);
    } else {
      await this.events.publish(
        tx,
        EventTypes.OrderCancelled,
        { orderId: order.id, reason: order.statusReason ?? 'payment_failed', totalAmount, currency },
        cause,
      );
    }
    this.latency.observe({ status: order.status }, (Date.now() - order.createdAt.getTime()) / 1000);
    this.log.log(`order ${order.id} ${order.status} (correlationId ${cause.correlationId})`);
  }
}
