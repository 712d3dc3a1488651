import { AppName } from '@lib/events';

/** What an operator did with a dead letter, as the console records it. */
export type DeadLetterActionKind = 'replayed' | 'discarded';

/** One recorded action on one dead letter (the latest one wins). */
export interface DeadLetterAction {
  /** The dead letter, `<dlq topic>/<partition>@<offset>` ({@link deadLetterId}). */
  letterId: string;
  action: DeadLetterActionKind;
  operator: string;
  note: string | null;
  /** ISO 8601. */
  at: string;
}

/** A dead letter is waiting until an operator replayed or discarded it. */
export type DeadLetterState = 'waiting' | DeadLetterActionKind;

/** Where the tools look for the ops console when CONSOLE_URL is not set. */
export const DEFAULT_CONSOLE_URL = 'http://localhost:3000';

/** The console's HTTP path listing the recorded actions (read-only, no token): `?app=<app>` narrows it to one dead-letter topic. */
export const CONSOLE_ACTIONS_PATH = '/api/dead-letters/actions';

/**
 * Asks the console (`consoleUrl`, e.g. http://localhost:3000) what was done
 * with the dead letters of `app`: the console is where actions are recorded
 * (its own database), so `npm run dlq -- list` shows the same state as its
 * pages. Throws when the console does not answer within `timeoutMs`.
 */
export async function fetchConsoleActions(consoleUrl: string, app: AppName, timeoutMs = 3000): Promise<Map<string, DeadLetterAction>> {
  const url = `${consoleUrl.replace(/\/$/, '')}${CONSOLE_ACTIONS_PATH}?app=${encodeURIComponent(app)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const body = (await response.json()) as { items: DeadLetterAction[] };
  return new Map(body.items.map((a) => [a.letterId, a]));
}
