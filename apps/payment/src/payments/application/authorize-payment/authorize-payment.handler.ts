import { EventTypes, OrderCreatedV1 } from '@lib/events';
import { applyWork, StatementWork } from '@lib/messaging';
import { EventCause, EventPublisher } from '@lib/outbox';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PAYMENT_GATEWAY, PaymentDecision, PaymentGateway, PaymentStatus } from '../../domain/payment';
import { paymentIdFor } from '../../domain/payment-id';

/**
 * Decides the payment of a new order, in two phases, so that no database
 * transaction is open while the gateway works:
 *
 * 1. `decide` asks the gateway, with no transaction open. The request carries
 *    the order's stable payment id (`paymentIdFor`) as the idempotency key, so
 *    a crash after the gateway answered and before phase 2 committed calls the
 *    gateway again with the same key — it cannot charge twice.
 * 2. `record` writes the payment and its `payment.completed` /
 *    `payment.failed` event in one short transaction (the consumer's, which
 *    also holds the inbox row).
 *
 * One payment per order: a redelivered event, or a second `order.created`
 * for the same order (another event id), finds the payment in phase 1 and
 * asks the gateway nothing, or — when both race — loses to the unique
 * `order_id` in phase 2 and is acknowledged without effect; the inbox row of
 * the transaction then marks a redelivery as a duplicate.
 */
@Injectable()
export class AuthorizePaymentHandler {
  private readonly log = new Logger(AuthorizePaymentHandler.name);

  constructor(
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    private readonly events: EventPublisher,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * Phase 1, no transaction open: the gateway's decision, or null when the
   * order already has a payment. `withPayment`: the orders known to have one,
   * read for the whole batch by {@link ordersWithPayment}; read for this
   * order alone when not given.
   */
  async decide(order: OrderCreatedV1, cause: EventCause, withPayment?: ReadonlySet<string>): Promise<PaymentDecision | null> {
    const known = withPayment ?? (await this.ordersWithPayment([order.orderId]));
    if (known.has(order.orderId)) {
      // Most often this very event again (at-least-once delivery: nothing looks it up in the inbox first).
      this.log.log(
        `order ${order.orderId} already has a payment; order.created ${cause.causationId} (a redelivery, or another event for the order) changes nothing (correlationId ${cause.correlationId})`,
      );
      return null;
    }
    return this.gateway.authorize({ paymentId: paymentIdFor(order.orderId), orderId: order.orderId, amount: order.totalAmount, currency: order.currency });
  }

  /** Those of `orderIds` that have a payment: one statement for a batch of order.created. */
  async ordersWithPayment(orderIds: readonly string[]): Promise<ReadonlySet<string>> {
    // Raw statements on this per-message path: TypeORM's entity machinery cost more CPU than the round trip (ADR 0016).
    const rows = await this.dataSource.query<{ order_id: string }[]>(`SELECT order_id FROM payments WHERE order_id = ANY($1::uuid[])`, [orderIds]);
    return new Set(rows.map((row) => row.order_id));
  }

  /** Phase 2, in `tx`: the payment row and its event (see {@link work}). */
  async record(tx: EntityManager, order: OrderCreatedV1, decision: PaymentDecision, cause: EventCause): Promise<void> {
    await applyWork(tx, this.work(order, decision, cause));
  }

  /**
   * Phase 2 as the consumer's transactional work: the payment row and its
   * event in one statement, the event only if the row is new — which the
   * runtime sends with the inbox row as one statement. Re-checked here, not
   * trusted from phase 1: ON CONFLICT on the unique order_id (and id)
   * inserts nothing, and then no event either, and `otherwise` only says so.
   */
  work(order: OrderCreatedV1, decision: PaymentDecision, cause: EventCause): StatementWork {
    const paymentId = paymentIdFor(order.orderId);
    const status = decision.approved ? PaymentStatus.Authorized : PaymentStatus.Declined;
    const reason = decision.approved ? null : decision.reason;
    const base = { orderId: order.orderId, paymentId, amount: order.totalAmount, currency: order.currency };
    const own = [paymentId, order.orderId, status, reason, order.totalAmount, order.currency, cause.correlationId];
    const event = decision.approved
      ? this.events.publishStatement(EventTypes.PaymentCompleted, base, cause, own.length + 1, ONLY_IF_INSERTED)
      : this.events.publishStatement(EventTypes.PaymentFailed, { ...base, reason: decision.reason }, cause, own.length + 1, ONLY_IF_INSERTED);
    return {
      with: `inserted AS (
         INSERT INTO payments (id, order_id, status, reason, amount, currency, correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING RETURNING id
       ), published AS (${event.sql})`,
      select: 'SELECT id FROM inserted',
      parameters: [...own, ...event.parameters],
      applied: () =>
        this.log.log(`payment ${paymentId} for order ${order.orderId} ${status}${reason ? ` (${reason})` : ''} (correlationId ${cause.correlationId})`),
      // Another delivery recorded the order's payment between phase 1 and here.
      otherwise: async () =>
        this.log.warn(`order ${order.orderId} already has a payment; order.created ${cause.causationId} ignored (correlationId ${cause.correlationId})`),
    };
  }
}

const ONLY_IF_INSERTED = 'EXISTS (SELECT 1 FROM inserted)';
