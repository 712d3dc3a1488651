import { EventTypes, PaymentVoidRequestedV1 } from '@lib/events';
import { EventCause, EventPublisher } from '@lib/outbox';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PAYMENT_GATEWAY, PaymentGateway, PaymentStatus } from '../../domain/payment';
import { PaymentRecord } from '../../infrastructure/payment.record';

/**
 * Voids a payment that completed for an order already cancelled (the order
 * service's `payment.void-requested`), in two phases like the authorisation,
 * so that no transaction is open while the gateway works:
 *
 * 1. `decide`, no transaction: the payment to void, or null when there is
 *    nothing to do (unknown payment, declined, or already voided); asks the
 *    gateway to void it (idempotent on the payment id, so a retry after a
 *    crash voids nothing twice).
 * 2. `record`, in the consumer's transaction: the payment becomes `VOIDED`,
 *    its refund is recorded (one per payment: the primary key), and
 *    `payment.voided` is published for the customer's notification.
 */
@Injectable()
export class VoidPaymentHandler {
  private readonly log = new Logger(VoidPaymentHandler.name);

  constructor(
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    private readonly events: EventPublisher,
    private readonly dataSource: DataSource,
  ) {}

  /** Phase 1, no transaction open: true when the payment was voided at the gateway and must be recorded. */
  async decide(request: PaymentVoidRequestedV1, cause: EventCause): Promise<boolean> {
    const payment = await this.dataSource.getRepository(PaymentRecord).findOneBy({ id: request.paymentId, orderId: request.orderId });
    if (!payment || payment.status !== PaymentStatus.Authorized) {
      const why = `void of payment ${request.paymentId} (order ${request.orderId}) ignored: ${payment ? `it is ${payment.status}` : 'no such payment'} (correlationId ${cause.correlationId})`;
      // VOIDED is most often this very request again (at-least-once delivery: nothing looks it up in the inbox first).
      if (payment?.status === PaymentStatus.Voided) this.log.log(why);
      else this.log.warn(why);
      return false;
    }
    if (!this.gateway.voidPayment) throw new Error('the payment gateway cannot void payments');
    await this.gateway.voidPayment({ paymentId: payment.id, orderId: payment.orderId, amount: payment.amount, currency: payment.currency });
    return true;
  }

  /** Phase 2, in `tx`: `VOIDED`, the refund row and `payment.voided`; nothing when another delivery recorded it since phase 1. */
  async record(tx: EntityManager, request: PaymentVoidRequestedV1, cause: EventCause): Promise<void> {
    const payment = await tx.findOne(PaymentRecord, { where: { id: request.paymentId }, lock: { mode: 'pessimistic_write' } });
    if (!payment || payment.status !== PaymentStatus.Authorized) return;
    payment.status = PaymentStatus.Voided;
    await tx.save(payment);
    await tx.query(`INSERT INTO payment_refunds (payment_id, order_id, amount, currency, reason, correlation_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      payment.id,
      payment.orderId,
      payment.amount,
      payment.currency,
      request.reason,
      cause.correlationId,
    ]);
    const { orderId, amount, currency } = payment;
    await this.events.publish(tx, EventTypes.PaymentVoided, { orderId, paymentId: payment.id, amount, currency, reason: request.reason }, cause);
    this.log.log(
      `payment ${payment.id} for order ${orderId} VOIDED (${request.reason}); ${amount} ${currency} refunded (correlationId ${cause.correlationId})`,
    );
  }
}
