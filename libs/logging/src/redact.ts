/**
 * Secrets that travel inside URLs and must never reach a log line, an error
 * message or a dead-letter header:
 * - the password of `scheme://user:password@host` (database URLs, proxies);
 * - query parameters that carry credentials (`?password=`, `?token=`, …).
 * The user name and host stay, so the message still says where it went wrong.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@'"]*):([^\s/?#@'"]+)@/gi;
const SECRET_QUERY_PARAMETERS = /([?&](?:password|passwd|pwd|pass|token|access_token|secret|api[_-]?key|key|sig|signature|sslpassword)=)[^&#\s'"]+/gi;

/** Masks the credentials of every URL in `text`: `postgres://app:s3cret@db/x` → `postgres://app:***@db/x`. */
export function maskSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1$2:***@').replace(SECRET_QUERY_PARAMETERS, '$1***');
}

/** {@link maskSecrets} applied to a log argument: strings, and the message and stack of errors; anything else as is. */
export function maskLogArgument(value: unknown): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (value instanceof Error) {
    const masked = new Error(maskSecrets(value.message));
    masked.name = value.name;
    masked.stack = value.stack && maskSecrets(value.stack);
    return masked;
  }
  return value;
}
