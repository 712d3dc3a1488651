import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { CommonEnv } from '../config/common-env';
import { SERVICE_ENV } from '../service-definition';

/** Whether `given` is `expected`, in constant time. */
export function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The bearer token of a request (`Authorization: Bearer <token>`), or undefined. */
export function bearerToken(request: Pick<Request, 'headers'>): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Guards the admin endpoints with `ADMIN_TOKEN`: with the variable set, every
 * request needs `Authorization: Bearer <ADMIN_TOKEN>` (else 401). Without it,
 * reads are open (like `/metrics`) and changes are refused (401), so an app
 * never accepts an unauthenticated change.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(SERVICE_ENV) private readonly env: CommonEnv) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const expected = this.env.ADMIN_TOKEN;
    if (!expected) {
      if (request.method === 'GET') return true;
      throw new UnauthorizedException('admin changes need ADMIN_TOKEN set on this app and sent as Authorization: Bearer <token>');
    }
    const given = bearerToken(request);
    if (!given || !sameToken(given, expected)) throw new UnauthorizedException('admin endpoints need Authorization: Bearer <ADMIN_TOKEN>');
    return true;
  }
}
