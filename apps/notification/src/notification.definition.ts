import { migrationUrl, ServiceDefinition } from '@lib/service';
import { NotificationEnv } from './config/notification.env';
import { CreateNotifications1732250000300 } from './migrations/1732250000300-create-notifications';
import { NotificationDelivery1732250000301 } from './migrations/1732250000301-notification-delivery';
import { NotificationRecord } from './notifications/infrastructure/notification.record';

export const notificationService: ServiceDefinition<NotificationEnv> = {
  app: 'notification',
  env: NotificationEnv,
  port: (env) => env.NOTIFICATION_PORT,
  databaseUrl: (env) => env.NOTIFICATION_DATABASE_URL,
  migrationDatabaseUrl: (env) =>
    migrationUrl(env.NOTIFICATION_DATABASE_URL, env.NOTIFICATION_MIGRATION_DATABASE_URL, {
      runtime: new NotificationEnv().NOTIFICATION_DATABASE_URL,
      owner: 'postgres://notification_owner:notification_owner@127.0.0.1:5432/notifications',
    }),
  entities: [NotificationRecord],
  migrations: [CreateNotifications1732250000300, NotificationDelivery1732250000301],
  publishes: false,
  duplicatePrecheck: false, // notifications are recorded in the transaction, delivered after it
};
