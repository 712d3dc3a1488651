import { AppModule } from '@lib/testing';
import { notificationService } from '../../apps/notification/src/notification.definition';
import { NotificationModule } from '../../apps/notification/src/notification.module';
import { orderService } from '../../apps/order/src/order.definition';
import { OrderModule } from '../../apps/order/src/order.module';
import { paymentService } from '../../apps/payment/src/payment.definition';
import { PaymentModule } from '../../apps/payment/src/payment.module';

/** The three apps as `nest start` boots them, for cross-app suites that run them in this process (`startSystem({ inProcess })`). */
export const ALL_APPS: { order: AppModule; payment: AppModule; notification: AppModule } = {
  order: { module: OrderModule, definition: orderService },
  payment: { module: PaymentModule, definition: paymentService },
  notification: { module: NotificationModule, definition: notificationService },
};
