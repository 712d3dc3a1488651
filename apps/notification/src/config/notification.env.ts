import { CommonEnv, toBool } from '@lib/service';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateBy, ValidationArguments } from 'class-validator';

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * `https`, or `http` to a loopback host (a receiver on the same machine), or
 * `http` anywhere once NOTIFICATION_WEBHOOK_ALLOW_HTTP=true says so: a
 * webhook over plain http to another host sends the customer's notification,
 * and a token in the URL, in the clear.
 */
function IsSecureWebhookUrl(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecureWebhookUrl',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        if (typeof value !== 'string' || !value.startsWith('http:')) return true;
        if ((args?.object as NotificationEnv | undefined)?.NOTIFICATION_WEBHOOK_ALLOW_HTTP === true) return true;
        try {
          return LOOPBACK_HOSTS.test(new URL(value).hostname);
        } catch {
          return true; // @IsUrl reports it
        }
      },
      defaultMessage: () =>
        'NOTIFICATION_WEBHOOK_URL must be https unless its host is loopback (localhost, 127.x.x.x, [::1]); set NOTIFICATION_WEBHOOK_ALLOW_HTTP=true to allow plain http to another host',
    },
  });
}

/** The notification app's configuration; defaults work on a developer machine as is. */
export class NotificationEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) NOTIFICATION_PORT: number = 3003;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'NOTIFICATION_DATABASE_URL must be a postgres:// URL' })
  NOTIFICATION_DATABASE_URL: string = 'postgres://notification_app:notification_app@127.0.0.1:5432/notifications';

  /**
   * The role that owns the schema and runs the migrations. Empty: the owner
   * role's default URL while NOTIFICATION_DATABASE_URL is the default, else
   * NOTIFICATION_DATABASE_URL itself (one URL for both).
   */
  @Matches(/^(postgres(ql)?:\/\/\S+)?$/, { message: 'NOTIFICATION_MIGRATION_DATABASE_URL must be empty or a postgres:// URL' })
  NOTIFICATION_MIGRATION_DATABASE_URL: string = '';

  /** When set, notifications are also POSTed here as JSON (the webhook channel). */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'NOTIFICATION_WEBHOOK_URL must be an http(s) URL' })
  @IsSecureWebhookUrl()
  NOTIFICATION_WEBHOOK_URL?: string;

  /** Allows a plain-http NOTIFICATION_WEBHOOK_URL to a host other than loopback (https is required otherwise). */
  @IsBoolean() @Transform(toBool) NOTIFICATION_WEBHOOK_ALLOW_HTTP: boolean = false;

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
  /** How long the dispatcher, once woken by a commit, waits for the next commits so that one claim takes them all. */
  @IsInt() @Min(0) @Max(1000) NOTIFICATION_DELIVERY_GATHER_MS: number = 20;
}
