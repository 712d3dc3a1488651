import { DeadLetterSink, KafkaEventsTransport } from '@lib/messaging';
import { SERVICE_ENV, ServiceModule } from '@lib/service';
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotificationEnv } from './config/notification.env';
import { notificationService } from './notification.definition';
import { NotificationDispatcher } from './notifications/application/deliver-notifications/notification-dispatcher';
import { NotifyCustomerHandler } from './notifications/application/notify-customer/notify-customer.handler';
import { NotificationsController } from './notifications/api/http/notifications.controller';
import { OrderEventsConsumer } from './notifications/api/messaging/order-events.consumer';
import { NOTIFICATION_CHANNELS, NotificationChannel } from './notifications/domain/notification';
import { LogChannel } from './notifications/infrastructure/channels/log.channel';
import { WebhookChannel } from './notifications/infrastructure/channels/webhook.channel';
import { NotificationQueue } from './notifications/infrastructure/notification-queue';

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
          ? [
              new WebhookChannel({
                url: env.NOTIFICATION_WEBHOOK_URL,
                timeoutMs: env.NOTIFICATION_WEBHOOK_TIMEOUT_MS,
                retries: env.NOTIFICATION_WEBHOOK_RETRIES,
              }),
            ]
          : []),
      ],
      inject: [SERVICE_ENV],
    },
    {
      // Delivers the recorded notifications after their transaction committed; started and stopped with the app.
      provide: NotificationDispatcher,
      useFactory: (
        env: NotificationEnv,
        dataSource: DataSource,
        channels: NotificationChannel[],
        deadLetters: DeadLetterSink,
        transport: KafkaEventsTransport,
      ) =>
        new NotificationDispatcher(new NotificationQueue(dataSource), channels, deadLetters, {
          maxAttempts: env.NOTIFICATION_DELIVERY_MAX_ATTEMPTS,
          retryBackoffMs: env.NOTIFICATION_DELIVERY_RETRY_BACKOFF_MS,
          concurrency: env.NOTIFICATION_DELIVERY_CONCURRENCY,
          pollIntervalMs: env.NOTIFICATION_DELIVERY_POLL_INTERVAL_MS,
          gatherMs: env.NOTIFICATION_DELIVERY_GATHER_MS,
          consumerGroup: transport.groupId,
        }),
      inject: [SERVICE_ENV, DataSource, NOTIFICATION_CHANNELS, DeadLetterSink, KafkaEventsTransport],
    },
  ],
})
export class NotificationModule {}
