import { EventEnvelope, Topics } from '@lib/events';
import { KafkaEventContext } from '@lib/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { NotificationDispatcher } from '../../application/deliver-notifications/notification-dispatcher';
import { NotifyCustomerHandler } from '../../application/notify-customer/notify-customer.handler';
import { NotifiableEvent } from '../../domain/notification';

/**
 * Every customer-facing event of an order becomes notifications. Thin: the
 * notifications are recorded in the delivery's transaction, and the
 * dispatcher is woken to deliver them once it committed.
 */
@Controller()
export class OrderEventsConsumer {
  constructor(
    private readonly notify: NotifyCustomerHandler,
    private readonly dispatcher: NotificationDispatcher,
  ) {}

  @EventPattern(Topics.OrderCreated)
  onOrderCreated(@Payload() event: EventEnvelope<'order.created'>, @Ctx() ctx: KafkaEventContext): void {
    this.record(event, ctx);
  }

  @EventPattern(Topics.OrderConfirmed)
  onOrderConfirmed(@Payload() event: EventEnvelope<'order.confirmed'>, @Ctx() ctx: KafkaEventContext): void {
    this.record(event, ctx);
  }

  @EventPattern(Topics.OrderCancelled)
  onOrderCancelled(@Payload() event: EventEnvelope<'order.cancelled'>, @Ctx() ctx: KafkaEventContext): void {
    this.record(event, ctx);
  }

  @EventPattern(Topics.PaymentFailed)
  onPaymentFailed(@Payload() event: EventEnvelope<'payment.failed'>, @Ctx() ctx: KafkaEventContext): void {
    this.record(event, ctx);
  }

  @EventPattern(Topics.PaymentVoided)
  onPaymentVoided(@Payload() event: EventEnvelope<'payment.voided'>, @Ctx() ctx: KafkaEventContext): void {
    this.record(event, ctx);
  }

  private record(event: NotifiableEvent, ctx: KafkaEventContext): void {
    ctx.inTransaction(this.notify.work(event, ctx));
    ctx.afterCommit(() => this.dispatcher.wake());
  }
}
