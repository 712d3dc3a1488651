import { AppName } from '@lib/events';
import request from 'supertest';

/** An HTTP client bound to one instance (supertest). */
export type HttpClient = ReturnType<typeof request>;

/** An HTTP client for an instance: real HTTP to its port, whether it runs in this process or in its own. */
export function httpClient(instance: { url: string }): HttpClient {
  return request(instance.url);
}

/**
 * What every app instance of a system offers, whether it runs in this process
 * (`InProcessApp`) or in its own (`AppProcess` of `@lib/infra`).
 */
export interface AppInstance {
  readonly app: AppName;
  /** `<app>-<n>`, n counting the app's instances from 1 in start order; names its log file. */
  readonly name: string;
  /** Its HTTP port; kept across restarts. */
  readonly port: number;
  /** `http://localhost:<port>`. */
  readonly url: string;
  /** Whether it is up (started and not stopped or exited). */
  readonly running: boolean;
  /** Starts it (again) with the environment it was created with, on its port; resolves once `/health` answers 200 (everything up: database, Kafka, consumer joined, outbox). */
  start(): Promise<void>;
  /** Stops it gracefully: in-flight work finishes, the consumer leaves its group. */
  stop(): Promise<unknown>;
  /** `stop()`, then `start()`. */
  restart(): Promise<void>;
}

/** The environment variable holding an app's database URL, e.g. `ORDER_DATABASE_URL`. */
export function databaseVariable(app: AppName): string {
  return `${app.toUpperCase()}_DATABASE_URL`;
}
