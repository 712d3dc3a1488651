import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago, as the OS hands one out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Hands out HTTP ports for a system's instances: consecutive ports from
 * `first` when given (below the OS's ephemeral range, so a port freed by a
 * killed instance is not taken by some outgoing connection before it is
 * restarted), otherwise free ports from the OS.
 */
export function portAllocator(first?: number): () => Promise<number> {
  let next = first;
  return async () => (next === undefined ? freePort() : next++);
}
