import { bearerToken, sameToken } from '@lib/service';
import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';

/** Injection token of the console's admin token (CONSOLE_ADMIN_TOKEN, or the one generated at start). */
export const CONSOLE_TOKEN = Symbol('CONSOLE_TOKEN');

export const TOKEN_COOKIE = 'console_token';
export const OPERATOR_COOKIE = 'console_operator';

/** The cookies of a request (no cookie-parser needed for two values). */
export function cookiesOf(request: Pick<Request, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** Whether the request carries the console's token: `Authorization: Bearer <token>`, or the cookie set by signing in. */
export function carriesToken(request: Pick<Request, 'headers'>, token: string): boolean {
  const given = bearerToken(request) ?? cookiesOf(request)[TOKEN_COOKIE];
  return given !== undefined && sameToken(given, token);
}

/** Who acts: the name given at sign-in, an `X-Operator` header, else `api`. */
export function operatorOf(request: Pick<Request, 'headers'>): string {
  const header = request.headers['x-operator'];
  return (cookiesOf(request)[OPERATOR_COOKIE] || (typeof header === 'string' ? header : '') || 'api').slice(0, 100);
}

/** Guards every change the console makes: 401 without the token. */
@Injectable()
export class ConsoleTokenGuard implements CanActivate {
  constructor(@Inject(CONSOLE_TOKEN) private readonly token: string) {}

  canActivate(context: ExecutionContext): boolean {
    if (!carriesToken(context.switchToHttp().getRequest<Request>(), this.token)) {
      throw new UnauthorizedException('this action needs the console token: Authorization: Bearer <CONSOLE_ADMIN_TOKEN>, or sign in at /login');
    }
    return true;
  }
}
