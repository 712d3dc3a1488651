import { EventTypes } from '@lib/events';
import { applyWork, StatementWork, TransactionalWork } from '@lib/messaging';
import { EventCause, EventPublisher } from '@lib/outbox';
import { ServiceMetrics } from '@lib/service';
import { Injectable, Logger } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { EntityManager } from 'typeorm';
import { OrderNotFoundError, OrderStatus, SETTLES_FROM } from '../../domain/order';
import { OrderRecord } from '../../infrastructure/order.record';

/**
 * A payment's outcome for an order. `paid`, the amount the payment was for
 * (both payment events carry it): when it is the order's total, the order
 * settles and its event is written in one statement.
 */
export type PaymentOutcome = ({ kind: 'completed' } | { kind: 'failed'; reason: string }) & {
  orderId: string;
  paymentId: string;
  paid?: { amount: number; currency: string };
};

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

  /** Settles the order in `tx` (the usual case in one statement, see {@link work}). */
  async execute(tx: EntityManager, outcome: PaymentOutcome, cause: EventCause): Promise<void> {
    await applyWork(tx, this.work(outcome, cause));
  }

  /**
   * The work that settles the order, for the consumer's transaction. When
   * the payment's amount is known, the usual case is one statement: a
   * PENDING order whose total is what the payment was for settles, and its
   * event, built from the payment's amount, is written only if it did; the
   * runtime sends it with the inbox row as one statement. When it settles
   * nothing (not PENDING, or another amount), {@link settleFromOrder} runs
   * instead.
   */
  work(outcome: PaymentOutcome, cause: EventCause): StatementWork<Pick<SettledRow, 'id' | 'created_at'>> | TransactionalWork {
    const { orderId, paymentId, paid } = outcome;
    if (!paid) return (tx) => this.settleFromOrder(tx, outcome, cause);
    const { status, statusReason } = settlement(outcome);
    const own = [orderId, status, statusReason, SETTLES_FROM, paid.amount, paid.currency];
    const money = { totalAmount: paid.amount, currency: paid.currency };
    const event =
      outcome.kind === 'completed'
        ? this.events.publishStatement(EventTypes.OrderConfirmed, { orderId, paymentId, ...money }, cause, own.length + 1, ONLY_IF_SETTLED)
        : this.events.publishStatement(EventTypes.OrderCancelled, { orderId, reason: outcome.reason, ...money }, cause, own.length + 1, ONLY_IF_SETTLED);
    return {
      with: `settled AS (
         UPDATE orders SET status = $2, status_reason = $3, updated_at = now()
         WHERE id = $1 AND status = $4 AND total_amount = $5 AND currency = $6
         RETURNING id, created_at
       ), published AS (${event.sql})`,
      select: 'SELECT * FROM settled',
      parameters: [...own, ...event.parameters],
      applied: ([order]) => this.settled(order, status, cause),
      otherwise: (tx) => this.settleFromOrder(tx, outcome, cause),
    };
  }

  /** Settles a PENDING order with an event built from the order's own total (the UPDATE locks the row and sees the latest status). */
  private async settleFromOrder(tx: EntityManager, outcome: PaymentOutcome, cause: EventCause): Promise<void> {
    const { status, statusReason } = settlement(outcome);
    const [order] = await tx.query<SettledRow[]>(
      `WITH settled AS (
         UPDATE orders SET status = $2, status_reason = $3, updated_at = now()
         WHERE id = $1 AND status = $4
         RETURNING id, total_amount, currency, created_at
       ) SELECT * FROM settled`,
      [outcome.orderId, status, statusReason, SETTLES_FROM],
    );
    if (!order) return this.notPending(tx, outcome, cause);
    const { id, currency } = order;
    const totalAmount = Number(order.total_amount);
    if (outcome.kind === 'completed') {
      await this.events.publish(tx, EventTypes.OrderConfirmed, { orderId: id, paymentId: outcome.paymentId, totalAmount, currency }, cause);
    } else {
      await this.events.publish(tx, EventTypes.OrderCancelled, { orderId: id, reason: statusReason ?? 'payment_failed', totalAmount, currency }, cause);
    }
    this.settled(order, status, cause);
  }

  private settled(order: Pick<SettledRow, 'id' | 'created_at'>, status: OrderStatus, cause: EventCause): void {
    this.latency.observe({ status }, (Date.now() - order.created_at.getTime()) / 1000);
    this.log.log(`order ${order.id} ${status} (correlationId ${cause.correlationId})`);
  }

  /** The order is not PENDING: missing (retried, then dead-lettered), or settled already (status never moves back). */
  private async notPending(tx: EntityManager, outcome: PaymentOutcome, cause: EventCause): Promise<void> {
    // A settled order's status is final, so no lock is needed to read it.
    const order = await tx.findOne(OrderRecord, { where: { id: outcome.orderId } });
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
    this.log.warn(`order ${order.id} is already ${order.status}; payment ${outcome.kind} ignored (correlationId ${cause.correlationId})`);
  }
}

const ONLY_IF_SETTLED = 'EXISTS (SELECT 1 FROM settled)';

/** The status a payment outcome settles an order in, and why (a failed payment's reason). */
function settlement(outcome: PaymentOutcome): { status: OrderStatus; statusReason: string | null } {
  return outcome.kind === 'completed' ? { status: OrderStatus.Confirmed, statusReason: null } : { status: OrderStatus.Cancelled, statusReason: outcome.reason };
}

/** What the settling UPDATE returns. */
interface SettledRow {
  id: string;
  total_amount: string;
  currency: string;
  created_at: Date;
}
