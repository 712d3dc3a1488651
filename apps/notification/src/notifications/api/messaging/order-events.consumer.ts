import { EventEnvelope, Topics } from '@lib/events';
import { KafkaEventContext } from '@lib/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { NotifyCustomerHandler } from '../../application/notify/notify-customer.handler';

/** Every customer-facing event of an order becomes a notification. Thin: translate, call, done. */
@Controller()
export class OrderEventsConsumer {
  constructor(private readonly notify: NotifyCustomerHandler) {}

  @EventPattern(Topics.OrderCreated)
  onOrderCreated(@Payload() event: EventEnvelope<'order.created'>, @Ctx() ctx: KafkaEventContext): void {
    ctx.inTransaction((tx) => this.notify.execute(tx, event));
  }

  @EventPattern(Topics.OrderConfirmed)
  onOrderConfirmed(@Payload() event: EventEnvelope<'order.confirmed'>, @Ctx() ctx: KafkaEventContext): void {
    ctx.inTransaction((tx) => this.notify.execute(tx, event));
  }

  @EventPattern(Topics.OrderCancelled)
  onOrderCancelled(@Payload() event: EventEnvelope<'order.cancelled'>, @Ctx() ctx: KafkaEventContext): void {
    ctx.inTransaction((tx) => this.notify.execute(tx, event));
  }

  @EventPattern(Topics.PaymentFailed)
  onPaymentFailed(@Payload() event: EventEnvelope<'payment.failed'>, @Ctx() ctx: KafkaEventContext): void {
    ctx.inTransaction((tx) => this.notify.execute(tx, event));
  }
}
