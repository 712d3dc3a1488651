import { Client, ClientConfig } from 'pg';

/**
 * The node-postgres `Client` class for a pool to create its connections with
 * (pg-pool's `Client` option; TypeORM hands its `extra` on to the pool): each
 * client has an `'error'` listener from birth to end.
 *
 * pg emits `'error'` on a client whose connection ends — its backend
 * terminated (57P01), a reset — while none of its queries is running. pg-pool
 * listens while a client is idle in the pool, TypeORM while a query runner
 * holds it; an `'error'` nobody listens to is an uncaught exception, and the
 * app exits (issue 11, item 7: probes and scrapes while backends were
 * terminated killed the order process with an uncaught 57P01). With this
 * listener the error is reported instead; the client is not queryable any
 * more, so its next query fails and its pool replaces it.
 *
 * `onUnclaimed` is called only when nobody else heard the error, i.e. when it
 * would have ended the process.
 */
export function listenedPgClient(onUnclaimed: (error: Error) => void): typeof Client {
  return class ListenedPgClient extends Client {
    constructor(config?: string | ClientConfig) {
      super(config);
      this.on('error', (error: Error) => {
        if (this.listenerCount('error') === 1) onUnclaimed(error);
      });
    }
  };
}
