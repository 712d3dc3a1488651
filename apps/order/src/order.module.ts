import { ServiceModule } from '@lib/service';
import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { orderService } from './order.definition';
import { PlaceOrderHandler } from './orders/application/place-order/place-order.handler';
import { SettleOrderHandler } from './orders/application/settle-order/settle-order.handler';
import { ExpireOverdueOrdersHandler } from './orders/application/expire-overdue-orders/expire-overdue-orders.handler';
import { PaymentDeadlineScheduler } from './orders/application/expire-overdue-orders/payment-deadline.scheduler';
import { OrdersController } from './orders/api/http/orders.controller';
import { AdmissionMiddleware } from './orders/api/http/admission.middleware';
import { IntakeGateMiddleware } from './orders/api/http/intake-gate.middleware';
import { OrderAdmission } from './orders/application/place-order/order-admission';
import { PaymentEventsConsumer } from './orders/api/messaging/payment-events.consumer';

@Module({
  imports: [ServiceModule.forApp(orderService)],
  controllers: [OrdersController, PaymentEventsConsumer],
  providers: [PlaceOrderHandler, OrderAdmission, SettleOrderHandler, ExpireOverdueOrdersHandler, PaymentDeadlineScheduler],
})
export class OrderModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AdmissionMiddleware, IntakeGateMiddleware).forRoutes({ path: 'orders', method: RequestMethod.POST });
  }
}
