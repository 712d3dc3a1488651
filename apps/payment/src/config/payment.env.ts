import { CommonEnv } from '@lib/service';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsString, Matches, Max, Min } from 'class-validator';

/** The payment app's configuration; defaults work on a developer machine as is. */
export class PaymentEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) PAYMENT_PORT: number = 3002;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'PAYMENT_DATABASE_URL must be a postgres:// URL' })
  PAYMENT_DATABASE_URL: string = 'postgres://payment_app:payment_app@127.0.0.1:5432/payments';

  /**
   * The role that owns the schema and runs the migrations. Empty: the owner
   * role's default URL while PAYMENT_DATABASE_URL is the default, else
   * PAYMENT_DATABASE_URL itself (one URL for both).
   */
  @Matches(/^(postgres(ql)?:\/\/\S+)?$/, { message: 'PAYMENT_MIGRATION_DATABASE_URL must be empty or a postgres:// URL' })
  PAYMENT_MIGRATION_DATABASE_URL: string = '';

  /** Orders whose total exceeds this (minor units) are declined with `limit_exceeded`. */
  @IsInt() @Min(0) PAYMENT_MAX_AMOUNT: number = 100000;

  /** Per-call timeout of the payment gateway. */
  @IsInt() @Min(1) @Max(60_000) PAYMENT_GATEWAY_TIMEOUT_MS: number = 2000;
  /** Retries of a failed gateway call (with backoff) before the message's attempt fails. */
  @IsInt() @Min(0) @Max(10) PAYMENT_GATEWAY_RETRIES: number = 2;
  /** Circuit breaker: percentage of failed calls (over a 10 s window, at least 5 calls) that opens it. */
  @IsInt() @Min(1) @Max(100) PAYMENT_BREAKER_ERROR_PERCENT: number = 50;
  /** Circuit breaker: how long it stays open before letting a trial call through. */
  @IsInt() @Min(100) @Max(600_000) PAYMENT_BREAKER_RESET_MS: number = 5000;

  /** Simulated gateway: share of calls that fail (0..1), to exercise retries and the breaker. */
  @Type(() => Number) @IsNumber() @Min(0) @Max(1) PAYMENT_GATEWAY_FAILURE_RATE: number = 0;
  /** Simulated gateway: latency added to every call. */
  @IsInt() @Min(0) @Max(600_000) PAYMENT_GATEWAY_LATENCY_MS: number = 0;
  /** Exposes `PUT /simulator` to change the simulated gateway's failure rate and latency at run time (tests, demos). */
  @IsBoolean()
  @Transform(({ obj, key, value }: { obj: Record<string, unknown>; key: string; value: unknown }) =>
    typeof obj[key] === 'string' ? obj[key] === 'true' : value,
  )
  PAYMENT_SIMULATOR_CONTROL: boolean = false;
}
