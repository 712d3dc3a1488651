import { EventEnvelope, Topics } from '@lib/events';
import { KafkaEventContext } from '@lib/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { SettleOrderHandler } from '../../application/settle-order/settle-order.handler';

/**
 * Payment outcomes settle orders. Thin: translate the event, hand the use
 * case to the delivery's transaction (it only touches the database).
 */
@Controller()
export class PaymentEventsConsumer {
  constructor(private readonly settleOrder: SettleOrderHandler) {}

  @EventPattern(Topics.PaymentCompleted)
  onPaymentCompleted(@Payload() event: EventEnvelope<'payment.completed'>, @Ctx() ctx: KafkaEventContext): void {
    const { orderId, paymentId, amount, currency } = event.data;
    ctx.inTransaction(this.settleOrder.work({ kind: 'completed', orderId, paymentId, paid: { amount, currency } }, ctx.causedBy()));
  }

  @EventPattern(Topics.PaymentFailed)
  onPaymentFailed(@Payload() event: EventEnvelope<'payment.failed'>, @Ctx() ctx: KafkaEventContext): void {
    const { orderId, paymentId, reason, amount, currency } = event.data;
    ctx.inTransaction(this.settleOrder.work({ kind: 'failed', orderId, paymentId, reason, paid: { amount, currency } }, ctx.causedBy()));
  }
}
