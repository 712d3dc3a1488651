import { currentLogContext } from '@lib/logging';
import { Logger } from '@nestjs/common';

/** Time given to the log line to be written before the process exits. */
const EXIT_DELAY_MS = 200;

/**
 * An error nobody handles — a rejected promise nobody awaited, an `'error'`
 * event with no listener (a pg client whose connection was reset), a throw
 * in a timer — leaves the process in a state no one has reasoned about.
 * Node's default for the first is a warning and living on, half-dead. These
 * handlers log it once, with what was being done (the log context: topic,
 * event, correlation id), and end the process with exit code 1 so that its
 * supervisor starts a clean one. Installed by each app's `main.ts` (not by
 * `bootstrapService`, which tests also run inside the test runner's process).
 */
export function exitOnUnexpectedErrors(app: string): void {
  const log = new Logger('Process');
  let exiting = false;
  const fail = (kind: string) => (error: unknown) => {
    const context = currentLogContext();
    const where = Object.keys(context).length ? ` while ${JSON.stringify(context)}` : '';
    const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : JSON.stringify(error);
    log.fatal(`${app} (pid ${process.pid}): ${kind}${where}; exiting with code 1: ${detail}`);
    if (exiting) return;
    exiting = true;
    process.exitCode = 1;
    setTimeout(() => process.exit(1), EXIT_DELAY_MS);
  };
  process.on('unhandledRejection', fail('unhandled promise rejection'));
  process.on('uncaughtException', fail('uncaught exception'));
}
