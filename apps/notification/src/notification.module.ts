import { SERVICE_ENV, ServiceModule } from '@lib/service';
import { Module } from '@nestjs/common';
import { NotificationEnv } from './config/notification.env';
import { notificationService } from './notification.definition';
import { NotifyCustomerHandler } from './notifications/application/notify/notify-customer.handler';
import { NotificationsController } from './notifications/api/http/notifications.controller';
import { OrderEventsConsumer } from './notifications/api/messaging/order-events.consumer';
import { NOTIFICATION_CHANNELS, NotificationChannel } from './notifications/domain/notification';
import { LogChannel } from './notifications/infrastructure/channels/log.channel';
import { WebhookChannel } from './notifications/infrastructure/channels/webhook.channel';

@Module({
  imports: [ServiceModule.forApp(notificationService)],
  controllers: [NotificationsController, OrderEventsConsumer],
  providers: [
    NotifyCustomerHandler,
    {
      provide: NOTIFICATION_CHANNELS,
      useFactory: (env: NotificationEnv): NotificationChannel[] => [
        new LogChannel(),
        ...(env.NOTIFICATION_WEBHOOK_URL
          ? [new WebhookChannel(env.NOTIFICATION_WEBHOOK_URL, env.NOTIFICATION_WEBHOOK_TIMEOUT_MS, env.NOTIFICATION_WEBHOOK_RETRIES)]
          : []),
      ],
      inject: [SERVICE_ENV],
    },
  ],
})
export class NotificationModule {}
