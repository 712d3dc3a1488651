import { CommonEnv } from '@lib/service';
import { IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';

/** The notification app's configuration; defaults work on a developer machine as is. */
export class NotificationEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) NOTIFICATION_PORT: number = 3003;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'NOTIFICATION_DATABASE_URL must be a postgres:// URL' })
  NOTIFICATION_DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/notifications';

  /** When set, notifications are also POSTed here as JSON (the webhook channel). */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'NOTIFICATION_WEBHOOK_URL must be an http(s) URL' })
  NOTIFICATION_WEBHOOK_URL?: string;

  @IsInt() @Min(1) @Max(60_000) NOTIFICATION_WEBHOOK_TIMEOUT_MS: number = 3000;
  @IsInt() @Min(0) @Max(10) NOTIFICATION_WEBHOOK_RETRIES: number = 2;

  /** Delivery attempts of one notification (each with the channel's own retries) before it goes to notification.dlq. */
  @IsInt() @Min(1) @Max(100) NOTIFICATION_DELIVERY_MAX_ATTEMPTS: number = 5;
  /** Delay after a failed delivery attempt, doubled per attempt (at most 5 minutes). */
  @IsInt() @Min(10) @Max(600_000) NOTIFICATION_DELIVERY_RETRY_BACKOFF_MS: number = 1000;
  /** Notifications delivered at once by one instance. */
  @IsInt() @Min(1) @Max(256) NOTIFICATION_DELIVERY_CONCURRENCY: number = 8;
  /** How often the dispatcher looks for due notifications when nothing wakes it. */
  @IsInt() @Min(10) @Max(600_000) NOTIFICATION_DELIVERY_POLL_INTERVAL_MS: number = 1000;
}
