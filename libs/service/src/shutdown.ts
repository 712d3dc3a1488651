import { DurableProducer } from '@lib/kafka';
import { KafkaEventsTransport } from '@lib/messaging';
import { OutboxRelay } from '@lib/outbox';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { CommonEnv } from './config/common-env';
import { SERVICE_ENV } from './service-definition';

/** Whether the app is shutting down; readiness answers 503 from the first step on. */
@Injectable()
export class ShutdownState {
  draining = false;
}

/**
 * A graceful stop, in the order that loses nothing and does nothing twice,
 * each step bounded (SHUTDOWN_*_MS):
 *
 * 1. stop taking work: readiness turns 503, the HTTP listener closes (new
 *    connections refused) and the requests in flight finish
 *    (`SHUTDOWN_HTTP_DRAIN_MS`, then the remaining connections are cut);
 * 2. the consumer stops fetching, finishes the messages in hand (their
 *    transactions commit, offsets are committed) and leaves its group
 *    (`SHUTDOWN_CONSUMER_DRAIN_MS`);
 * 3. the outbox relay publishes what steps 1 and 2 committed
 *    (`SHUTDOWN_RELAY_FLUSH_MS`; what is left is published by the next relay
 *    of the database) and stops; the producer disconnects;
 * 4. then Nest closes the rest: the database pools close last (TypeORM's own
 *    shutdown hook), after everything that writes to them has stopped.
 *
 * Runs as `beforeApplicationShutdown`, i.e. after `onModuleDestroy` hooks and
 * before Nest closes the HTTP server and the microservice (both already
 * closed here, which Nest then finds done).
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly log = new Logger('Shutdown');

  constructor(
    private readonly state: ShutdownState,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SERVICE_ENV) private readonly env: CommonEnv,
    @Optional() private readonly transport?: KafkaEventsTransport,
    @Optional() private readonly relay?: OutboxRelay,
    @Optional() private readonly producer?: DurableProducer,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const started = Date.now();
    this.log.log(`${signal ?? 'close'} received: stopping HTTP and the consumer, finishing the work in hand, flushing the outbox`);
    this.state.draining = true;
    await this.step(
      'HTTP requests in flight',
      this.env.SHUTDOWN_HTTP_DRAIN_MS,
      () => this.drainHttp(),
      () => this.httpServer()?.closeAllConnections(),
    );
    if (this.transport) await this.step('consumer', this.env.SHUTDOWN_CONSUMER_DRAIN_MS, () => this.transport!.close());
    if (this.relay) {
      const relay = this.relay;
      // The flush is bounded by the relay itself; the step's bound covers a stop stuck on its connection.
      await this.step('outbox relay', this.env.SHUTDOWN_RELAY_FLUSH_MS + 2000, () => relay.stop({ flushWithinMs: this.env.SHUTDOWN_RELAY_FLUSH_MS }));
    }
    if (this.producer) await this.step('outbox producer', 5000, () => this.producer!.disconnect());
    this.log.log(`drained in ${Date.now() - started} ms; closing connections`);
  }

  private httpServer(): Server | undefined {
    return this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
  }

  /** Stops accepting connections and resolves once every request in flight has been answered. */
  private drainHttp(): Promise<void> {
    const server = this.httpServer();
    if (!server?.listening) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Keep-alive connections with no request in flight are closed now, and as soon as each answer is sent.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
  }

  /** Runs one step within `ms`; past it the step is abandoned (and `onTimeout` run) so that the next one starts. */
  private async step(what: string, ms: number, run: () => Promise<unknown>, onTimeout?: () => void): Promise<void> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    try {
      const outcome = await Promise.race([run().then(() => 'done' as const), timedOut]);
      if (outcome === 'timeout') {
        this.log.warn(`shutdown: ${what} not done within ${ms} ms; going on`);
        onTimeout?.();
      } else {
        this.log.log(`shutdown: ${what} done in ${Date.now() - started} ms`);
      }
    } catch (error) {
      this.log.warn(`shutdown: ${what} failed: ${(error as Error).message}; going on`);
    } finally {
      clearTimeout(timer);
    }
  }
}
