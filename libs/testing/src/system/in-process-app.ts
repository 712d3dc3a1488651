import type { AppName } from '@lib/events';
import type { ServiceDefinition } from '@lib/service';
import type { INestApplication, Type } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../eventually';
import { AppInstance } from './app-instance';

/** An app as `nest start <app>` boots it: its root module and its service definition. */
export interface AppModule {
  module: Type<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each app's definition has its own env class; any one of them fits
  definition: ServiceDefinition<any>;
}

type ReadyPath = '/health' | '/health/ready' | '/health/live';

export interface InProcessAppOptions extends AppModule {
  name?: string;
  /** HTTP port (default 0: a free one, kept for restarts). */
  port?: number;
  /** Set in `process.env` before each boot, which is where the app reads its configuration. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * What `start()` waits for, as for an app process: `/health` (default;
   * everything up — database, Kafka, consumer joined, outbox) or
   * `/health/ready` (the HTTP API can serve: an app started while Kafka
   * refuses it) or `/health/live`; `start({ readyPath })` overrides it for one boot.
   */
  readyPath?: ReadyPath;
}

/**
 * An app booted in this process exactly as `nest start` boots it
 * (`bootstrapService`), so a test can reach into it (`nest.get(...)`: spy on
 * a gateway, stop the relay). Its configuration comes from `process.env`,
 * which it shares with everything else in the process: one running instance per app.
 */
export class InProcessApp implements AppInstance {
  readonly app: AppName;
  readonly name: string;
  private current: INestApplication | undefined;
  private boundPort: number;

  constructor(private readonly options: InProcessAppOptions) {
    this.app = options.definition.app;
    this.name = options.name ?? this.app;
    this.boundPort = options.port ?? 0;
  }

  /** The Nest application, while it runs. */
  get nest(): INestApplication {
    if (!this.current) throw new Error(`${this.name} is not running`);
    return this.current;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://localhost:${this.boundPort}`;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Boots it and waits for `readyPath` (default: the option, else `/health`,
   * everything up). `env` is added to the instance's variables for this boot
   * (and stays in `process.env`, which the system restores at its stop).
   */
  async start(options: { readyPath?: ReadyPath; env?: Record<string, string> } = {}): Promise<void> {
    if (this.current) throw new Error(`${this.name} is running already`);
    const readyPath = options.readyPath ?? this.options.readyPath ?? '/health';
    Object.assign(process.env, this.options.env, options.env);
    // Loaded here, not at the top: the rest of the toolkit (processes, events, Kafka) does not need Nest.
    await import('reflect-metadata');
    const { bootstrapService } = await import('@lib/service');
    this.current = await bootstrapService(this.options.module, this.options.definition, { port: this.boundPort });
    this.boundPort = ((this.current.getHttpServer() as Server).address() as AddressInfo).port;
    await eventually(
      async () => {
        // By default everything up (database, Kafka, consumer joined, outbox), not merely ready to serve HTTP.
        const response = await fetch(`${this.url}${readyPath}`, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        return true;
      },
      { timeoutMs: this.options.readyTimeoutMs ?? 90_000, intervalMs: 250, what: `${this.name} up on ${this.url}${readyPath}` },
    );
  }

  async stop(): Promise<void> {
    const app = this.current;
    this.current = undefined;
    await app?.close();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
