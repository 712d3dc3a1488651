import { EventEnvelope, Topics } from '@lib/events';
import { KafkaEventContext } from '@lib/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { SettleOrderHandler } from '../../application/settle-order/settle-order.handler';

/** Payment outcomes settle orders. Thin: translate the event, call the use case. */
@Controller()
export class PaymentEventsConsumer {
  constructor(private readonly settleOrder: SettleOrderHandler) {}

  @EventPattern(Topics.PaymentCompleted)
  async onPaymentCompleted(@Payload() event: EventEnvelope<'payment.completed'>, @Ctx() ctx: KafkaEventContext) {
    const { orderId, paymentId } = event.data;
    await this.settleOrder.execute(ctx.transaction, { kind: 'completed', orderId, paymentId }, ctx.causedBy());
  }

  @EventPattern(Topics.PaymentFailed)
  async onPaymentFailed(@Payload() event: EventEnvelope<'payment.failed'>, @Ctx() ctx: KafkaEventContext) {
    const { orderId, paymentId, reason } = event.data;
    await this.settleOrder.execute(ctx.transaction, { kind: 'failed', orderId, paymentId, reason }, ctx.causedBy());
  }
}
