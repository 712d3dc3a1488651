import { AppName } from '@lib/events';

/** How the console reaches one app: its base URL and the admin token (ADMIN_TOKEN) its admin endpoints need. */
export interface AppEndpoint {
  app: AppName;
  url: string;
  adminToken?: string;
}

const TIMEOUT_MS = 1500;

/** An answer from an app, or why there was none. */
export type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number | null; error: string };

/**
 * The console's HTTP client of the apps: their public API, health and admin
 * endpoints, each call with a short deadline (an app that does not answer is
 * shown as such, it never holds the page).
 */
export class AppClient {
  constructor(readonly endpoint: AppEndpoint) {}

  get<T>(path: string): Promise<Answer<T>> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string): Promise<Answer<T>> {
    return this.call<T>('POST', path);
  }

  private async call<T>(method: string, path: string): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (path.startsWith('/admin') && this.endpoint.adminToken) headers.authorization = `Bearer ${this.endpoint.adminToken}`;
    try {
      const response = await fetch(`${this.endpoint.url}${path}`, { method, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      // /health answers 503 with a JSON body that says why: a valid answer.
      return { ok: true, status: response.status, body: body as T };
    } catch (error) {
      return { ok: false, status: null, error: refused(error) ? 'not running (connection refused)' : (error as Error).message };
    }
  }
}

/** Whether a fetch failed because nothing listens (the cause, or one of the causes tried per address family). */
function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors ?? []).some((e) => e.code === 'ECONNREFUSED');
}
