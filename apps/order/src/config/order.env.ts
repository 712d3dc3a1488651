import { CommonEnv } from '@lib/service';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

/** The order app's configuration; defaults work on a developer machine as is. */
export class OrderEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) ORDER_PORT: number = 3001;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'ORDER_DATABASE_URL must be a postgres:// URL' })
  ORDER_DATABASE_URL: string = 'postgres://order_app:order_app@127.0.0.1:5432/orders';

  /**
   * The role that owns the schema and runs the migrations. Empty: the owner
   * role's default URL while ORDER_DATABASE_URL is the default, else
   * ORDER_DATABASE_URL itself (one URL for both).
   */
  @Matches(/^(postgres(ql)?:\/\/\S+)?$/, { message: 'ORDER_MIGRATION_DATABASE_URL must be empty or a postgres:// URL' })
  ORDER_MIGRATION_DATABASE_URL: string = '';

  /** A `PENDING` order not settled by a payment event within this time (ms) is cancelled with `payment_timeout` (the saga deadline). */
  @IsInt() @Min(1000) @Max(30 * 24 * 3_600_000) ORDER_PAYMENT_DEADLINE_MS: number = 15 * 60_000;

  /** How often each instance looks for orders past their deadline (ms). */
  @IsInt() @Min(100) @Max(3_600_000) ORDER_DEADLINE_CHECK_INTERVAL_MS: number = 5000;

  /**
   * Admission control: while more orders than this are PENDING (placed, not
   * yet settled), POST /orders answers 503 with Retry-After instead of taking
   * more. 0 = off (the default).
   */
  @IsInt() @Min(0) @Max(10_000_000) ORDER_ADMISSION_MAX_PENDING: number = 0;

  /**
   * Pooled connections POST /orders leaves to the rest of the app (the
   * consumer, the deadline sweep, health): at most DATABASE_POOL_SIZE minus
   * this many requests (at least one) are handled at once.
   */
  @IsInt() @Min(0) @Max(199) ORDER_INTAKE_RESERVED_CONNECTIONS: number = 2;

  /** How long (ms) a POST /orders waits for its turn before it is answered 503 with Retry-After; 0 = not at all. */
  @IsInt() @Min(0) @Max(60_000) ORDER_INTAKE_WAIT_MS: number = 5000;
}
