import { EventTypes, OrderCreatedV1 } from '@lib/events';
import { EventPublisher } from '@lib/outbox';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { PAYMENT_GATEWAY, PaymentGateway, PaymentStatus } from '../../domain/payment';
import { paymentIdFor } from '../../domain/payment-id';
import { PaymentRecord } from '../../infrastructure/payment.record';

/**
 * Decides the payment of a new order through the gateway, then records the
 * payment and its `payment.completed` / `payment.failed` event in the
 * caller's transaction. One payment per order: the inbox stops a redelivered
 * event, and the unique `order_id` stops a second `order.created` for the
 * same order (a different event id) — that one is acknowledged without effect.
 */
@Injectable()
export class AuthorizePaymentHandler {
  private readonly log = new Logger(AuthorizePaymentHandler.name);

  constructor(
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    private readonly events: EventPublisher,
  ) {}

  async execute(tx: EntityManager, order: OrderCreatedV1, cause: { correlationId: string; causationId: string }): Promise<void> {
    if (await tx.existsBy(PaymentRecord, { orderId: order.orderId })) {
      this.log.warn(`order ${order.orderId} already has a payment; order.created ${cause.causationId} ignored (correlationId ${cause.correlationId})`);
      return;
    }
    const paymentId = paymentIdFor(order.orderId);
    const decision = await this.gateway.authorize({ paymentId, orderId: order.orderId, amount: order.totalAmount, currency: order.currency });

    const payment = tx.create(PaymentRecord, {
      id: paymentId,
      orderId: order.orderId,
      status: decision.approved ? PaymentStatus.Authorized : PaymentStatus.Declined,
      reason: decision.approved ? null : decision.reason,
      amount: order.totalAmount,
      currency: order.currency,
      correlationId: cause.correlationId,
    });
    await tx.insert(PaymentRecord, payment);

    const base = { orderId: order.orderId, paymentId, amount: order.totalAmount, currency: order.currency };
    if (decision.approved) await this.events.publish(tx, EventTypes.PaymentCompleted, base, cause);
    else await this.events.publish(tx, EventTypes.PaymentFailed, { ...base, reason: decision.reason }, cause);
    this.log.log(`payment ${paymentId} for order ${order.orderId} ${payment.status}${payment.reason ? ` (${payment.reason})` : ''} (correlationId ${cause.correlationId})`);
  }
}
