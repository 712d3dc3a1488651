import { SERVICE_ENV } from '@lib/service';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OrderEnv } from '../../../config/order.env';
import { ExpireOverdueOrdersHandler } from './expire-overdue-orders.handler';

/**
 * Runs the saga deadline on every instance: every
 * `ORDER_DEADLINE_CHECK_INTERVAL_MS`, sweeps the orders past
 * `ORDER_PAYMENT_DEADLINE_MS` in short transactions of at most 100 orders
 * until none is left. A failed sweep (database away) is logged and tried at
 * the next tick.
 */
@Injectable()
export class PaymentDeadlineScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(PaymentDeadlineScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly expire: ExpireOverdueOrdersHandler,
    private readonly dataSource: DataSource,
    @Inject(SERVICE_ENV) private readonly env: OrderEnv,
  ) {}

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** One sweep: cancels every order past its deadline; resolves with how many. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const cancelled = await this.dataSource.transaction((tx) => this.expire.execute(tx, this.env.ORDER_PAYMENT_DEADLINE_MS));
      total += cancelled.length;
      if (cancelled.length < 100 || this.stopped) return total;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.log.warn(`payment deadline sweep failed, trying again in ${this.env.ORDER_DEADLINE_CHECK_INTERVAL_MS} ms: ${(error as Error).message}`),
        )
        .finally(() => {
          this.sweeping = null;
          this.schedule();
        });
    }, this.env.ORDER_DEADLINE_CHECK_INTERVAL_MS);
  }
}
