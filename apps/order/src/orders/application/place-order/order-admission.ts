import { SERVICE_ENV } from '@lib/service';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OrderEnv } from '../../../config/order.env';

/** How often the count of PENDING orders is read while admission control is on. */
export const ADMISSION_CHECK_MS = 200;

/** Why a new order is refused, and when the client should try again. */
export interface AdmissionRefusal {
  message: string;
  retryAfterSeconds: number;
}

/**
 * Admission control for `POST /orders` (`ORDER_ADMISSION_MAX_PENDING`, off at
 * 0): while more orders are PENDING — placed, not yet settled, across every
 * instance — than the bound, new orders are refused with 503 and
 * `Retry-After` instead of being taken. Under an overload the HTTP ingest
 * would otherwise take the CPU the consumers need to settle what was already
 * accepted (the 2x overload of `bench:saga`), and the backlog, with every
 * order's wait, would grow without bound. The count is read every
 * {@link ADMISSION_CHECK_MS} ms from the database (index on status), not per
 * request; a failed read keeps the last count (a database outage answers
 * 503 by itself). The refusal is answered by {@link AdmissionMiddleware},
 * before the request reaches the Nest pipeline: under an overload most
 * requests are refusals, and each must cost next to nothing.
 */
@Injectable()
export class OrderAdmission implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(OrderAdmission.name);
  private readonly max: number;
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private refusing = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_ENV) env: OrderEnv,
  ) {
    this.max = env.ORDER_ADMISSION_MAX_PENDING;
  }

  onApplicationBootstrap(): void {
    if (this.max > 0) this.schedule();
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The refusal while the backlog is above the bound, null while new orders are taken. */
  refusal(): AdmissionRefusal | null {
    if (this.max === 0 || this.pending <= this.max) return null;
    return {
      message: `the saga is behind: ${this.pending} orders are waiting for their payment (at most ${this.max}); try again shortly`,
      retryAfterSeconds: 1,
    };
  }

  /** Reads the count now (also what the timer does). */
  async refresh(): Promise<void> {
    const [{ n }] = await this.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING'`);
    this.pending = n;
    const refusing = n > this.max;
    if (refusing !== this.refusing)
      this.log.warn(
        refusing ? `refusing new orders: ${n} PENDING, more than ORDER_ADMISSION_MAX_PENDING=${this.max}` : `taking new orders again (${n} PENDING)`,
      );
    this.refusing = refusing;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.refresh()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, ADMISSION_CHECK_MS);
  }
}
