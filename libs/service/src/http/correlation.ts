import { withLogContext } from '@lib/logging';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

/** What we accept from a client as a correlation id; anything else is replaced by a fresh UUID. */
const CORRELATION_ID = /^[\w.:-]{1,128}$/;

type CorrelatedRequest = Request & { correlationId?: string };

/**
 * Takes the request's `X-Correlation-Id` (or makes one), echoes it in the
 * response, and attaches it to every log line written while the request is
 * handled. Events caused by the request carry it on (see `@CorrelationId()`).
 */
export function correlationMiddleware(req: CorrelatedRequest, res: Response, next: NextFunction): void {
  const given = req.header('x-correlation-id');
  const correlationId = given && CORRELATION_ID.test(given) ? given : randomUUID();
  req.correlationId = correlationId;
  res.setHeader('X-Correlation-Id', correlationId);
  withLogContext({ correlationId }, next);
}

/** The request's correlation id, as set by `correlationMiddleware`. */
export const CorrelationId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<CorrelatedRequest>();
  return req.correlationId ?? randomUUID();
});
