import { CommonEnv } from '@lib/service';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

const URL_MESSAGE = (name: string) => ({ message: `${name} must be an http(s) URL such as http://localhost:3001` });

/**
 * The console's configuration. It reads Kafka (KAFKA_* of CommonEnv), its
 * own database, and the apps' HTTP APIs at the three URLs below (their admin
 * endpoints with ADMIN_TOKEN); defaults work on a developer machine as is.
 */
export class ConsoleEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) CONSOLE_PORT: number = 3000;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'CONSOLE_DATABASE_URL must be a postgres:// URL' })
  CONSOLE_DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/console';

  /** Token the console's changes (replay, discard, release) need; empty: one is generated and printed at start. */
  @IsOptional() @IsString() CONSOLE_ADMIN_TOKEN?: string;

  @Matches(/^https?:\/\/\S+$/, URL_MESSAGE('CONSOLE_ORDER_URL')) CONSOLE_ORDER_URL: string = 'http://localhost:3001';
  @Matches(/^https?:\/\/\S+$/, URL_MESSAGE('CONSOLE_PAYMENT_URL')) CONSOLE_PAYMENT_URL: string = 'http://localhost:3002';
  @Matches(/^https?:\/\/\S+$/, URL_MESSAGE('CONSOLE_NOTIFICATION_URL')) CONSOLE_NOTIFICATION_URL: string = 'http://localhost:3003';

  /** How often the overview's figures are sampled (and the page refreshed), ms. */
  @IsInt() @Min(250) @Max(60_000) CONSOLE_SAMPLE_INTERVAL_MS: number = 2000;
}
