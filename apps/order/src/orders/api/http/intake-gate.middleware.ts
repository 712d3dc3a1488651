import { SERVICE_ENV } from '@lib/service';
import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { OrderEnv } from '../../../config/order.env';

/**
 * Fair sharing of the database pool between HTTP ingest and consumption:
 * at most `DATABASE_POOL_SIZE - ORDER_INTAKE_RESERVED_CONNECTIONS` (2 by
 * default, at least one request) `POST /orders` are past this point at
 * once; the others wait here, in arrival order, for at most
 * `ORDER_INTAKE_WAIT_MS` (5 s, what the pool itself waits for a
 * connection), then get 503 with `Retry-After`. Without it, an overload
 * queues hundreds of inserts in the pool, and the consumer's settling
 * transaction waits behind every one of them: orders are taken faster than
 * they settle (the 2x overload of `bench:saga` settled 0.26 of the
 * saturation rate). With it the consumer always finds a connection.
 */
@Injectable()
export class IntakeGateMiddleware implements NestMiddleware {
  private readonly slots: number;
  private readonly waitMs: number;
  private inside = 0;
  private readonly waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(@Inject(SERVICE_ENV) env: OrderEnv) {
    this.slots = Math.max(1, env.DATABASE_POOL_SIZE - env.ORDER_INTAKE_RESERVED_CONNECTIONS);
    this.waitMs = env.ORDER_INTAKE_WAIT_MS;
  }

  use(_req: Request, res: Response, next: NextFunction): void {
    const enter = () => {
      this.inside++;
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        this.inside--;
        this.waiting.shift()?.admit();
      };
      res.once('finish', leave);
      res.once('close', leave);
      next();
    };
    if (this.inside < this.slots) return enter();
    const stopWaiting = () => {
      clearTimeout(turn.timer);
      res.off('close', stopWaiting);
      const at = this.waiting.indexOf(turn);
      if (at >= 0) this.waiting.splice(at, 1);
    };
    const turn = {
      admit: () => {
        stopWaiting();
        enter();
      },
      timer: setTimeout(() => {
        stopWaiting();
        res.setHeader('Retry-After', '1');
        res
          .status(503)
          .json({ statusCode: 503, error: 'Service Unavailable', message: `too many orders at once; retry in 1 s (with the same Idempotency-Key)` });
      }, this.waitMs),
    };
    res.once('close', stopWaiting); // the client gave up while waiting
    this.waiting.push(turn);
  }
}
