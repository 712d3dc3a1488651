import { createServer, Server, Socket, connect } from 'node:net';

/**
 * A TCP proxy in front of a server (e.g. PostgreSQL), for fault tests that cut
 * one client off the way a vanished host or a silent network partition does:
 * `blackhole()` drops every byte in both directions from then on, on the open
 * connections and on new ones, and sends no reset — the client's sockets stay
 * open and its requests simply never get an answer. `heal()` ends the outage
 * as TCP keepalive eventually would: the connections that lived through it are
 * reset (their streams lost bytes and cannot be resumed) and new connections
 * are forwarded again.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private blackholed = false;
  private portNumber = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on a free port (or `port`) of 127.0.0.1; resolves with it. */
  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.portNumber = typeof address === 'object' && address ? address.port : port;
    return this.portNumber;
  }

  get port(): number {
    return this.portNumber;
  }

  /** `url` with its host and port replaced by the proxy's (e.g. a database URL). */
  proxied(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.portNumber);
    return parsed.toString();
  }

  /** Whether bytes are being dropped. */
  get isBlackholed(): boolean {
    return this.blackholed;
  }

  /** Drops every byte from now on, both ways, on every connection, without closing or resetting any. */
  blackhole(): void {
    this.blackholed = true;
  }

  /** Resets the connections that lived through the blackhole and forwards new ones again. */
  heal(): void {
    this.blackholed = false;
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!this.blackholed) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    // A connection ends when either side ends it, except while blackholed: then nothing gets through, not even the end.
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (!this.blackholed) close();
      });
    }
  }
}
