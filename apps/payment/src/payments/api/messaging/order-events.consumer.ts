import { EventEnvelope, EventTypes, Topics } from '@lib/events';
import { KafkaEventContext } from '@lib/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { AuthorizePaymentHandler } from '../../application/authorize-payment/authorize-payment.handler';
import { VoidPaymentHandler } from '../../application/void-payment/void-payment.handler';

/** New orders get their payment decided; payments of orders cancelled first are voided. Thin: translate the event, call the use case's two phases. */
@Controller()
export class OrderEventsConsumer {
  constructor(
    private readonly authorizePayment: AuthorizePaymentHandler,
    private readonly voidPayment: VoidPaymentHandler,
  ) {}

  @EventPattern(Topics.OrderCreated)
  async onOrderCreated(@Payload() event: EventEnvelope<'order.created'>, @Ctx() ctx: KafkaEventContext): Promise<void> {
    // No transaction is open while the gateway decides. Which orders have a payment already: one read for the batch.
    const withPayment = await ctx.perBatch(ORDERS_WITH_PAYMENT, (events) => this.authorizePayment.ordersWithPayment(orderIdsOf(events)));
    const decision = await this.authorizePayment.decide(event.data, ctx.causedBy(), withPayment);
    if (decision) ctx.inTransaction(this.authorizePayment.work(event.data, decision, ctx.causedBy()));
  }

  @EventPattern(Topics.PaymentVoidRequested)
  async onPaymentVoidRequested(@Payload() event: EventEnvelope<'payment.void-requested'>, @Ctx() ctx: KafkaEventContext): Promise<void> {
    // No transaction is open while the gateway voids.
    if (await this.voidPayment.decide(event.data, ctx.causedBy())) ctx.inTransaction((tx) => this.voidPayment.record(tx, event.data, ctx.causedBy()));
  }
}

const ORDERS_WITH_PAYMENT = 'orders with a payment';
const orderIdsOf = (events: readonly EventEnvelope[]): string[] => events.flatMap((e) => (e.type === EventTypes.OrderCreated ? [e.data.orderId] : []));
