import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { OrderAdmission } from '../../application/place-order/order-admission';

/**
 * Admission control's refusal of `POST /orders` (ORDER_ADMISSION_MAX_PENDING),
 * answered here, before validation, the controller and the exception filter:
 * under an overload most requests are refusals, and refusing must not take
 * the CPU the consumers need to settle what was taken. The body is the one
 * every other error has (`statusCode`, `error`, `message`).
 */
@Injectable()
export class AdmissionMiddleware implements NestMiddleware {
  constructor(private readonly admission: OrderAdmission) {}

  use(_req: Request, res: Response, next: NextFunction): void {
    const refusal = this.admission.refusal();
    if (!refusal) return next();
    res.setHeader('Retry-After', String(refusal.retryAfterSeconds));
    res.status(503).json({ statusCode: 503, error: 'Service Unavailable', message: refusal.message });
  }
}
