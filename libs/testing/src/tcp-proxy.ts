import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/** One client connection through the proxy and its upstream. */
interface Link {
  client: Socket;
  upstream?: Socket;
  /** Blackholed: whatever either side sends is dropped, for the rest of the link's life. */
  dropped: boolean;
}

/**
 * A TCP proxy between a client under test and a server (PostgreSQL, a Kafka
 * listener), so a test can take the server away from that one client without
 * touching the server or anyone else's connections. Two kinds of fault:
 *
 * - `cut()` does what a stopped server does to its clients: open connections
 *   are reset and new ones refused (nothing listens on the port);
 *   `restore()` listens on the same port again.
 * - `blackhole()` is a silent network partition: nothing is reset, every byte
 *   either way is dropped — on the open connections and on new ones, which
 *   are accepted (the kernel completes the handshake) and then hear nothing.
 *   The client only notices through its own timeouts. `heal()` lets new
 *   connections through again; the connections that were blackholed stay
 *   dead, as a TCP stream that lost bytes would, until the client gives up on
 *   them.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly links = new Set<Link>();
  private listenPort = 0;
  private dropping = false;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A proxy to `target` listening on `port` (default: a free port from the OS). */
  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.listen(port);
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Client connections open through the proxy (blackholed ones included). */
  get connections(): number {
    return this.links.size;
  }

  /** Whether traffic is being dropped ({@link blackhole}). */
  get blackholed(): boolean {
    return this.dropping;
  }

  /** Resets every open connection and stops listening: clients see ECONNRESET / ECONNREFUSED. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const link of this.links) this.close(link);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    if (!this.server) await this.listen(this.listenPort);
  }

  /** Drops every byte from now on, silently (see the class comment). */
  blackhole(): void {
    this.dropping = true;
    for (const link of this.links) link.dropped = true;
  }

  /**
   * New connections go through again. The blackholed ones stay dead (as a
   * client sees it until its own timeouts fire), or, with `resetDropped`, are
   * reset now, as TCP keepalive would end them: their streams lost bytes.
   */
  heal(opts: { resetDropped?: boolean } = {}): void {
    this.dropping = false;
    if (opts.resetDropped) {
      for (const link of this.links) {
        if (!link.dropped) continue;
        link.client.resetAndDestroy();
        this.close(link);
      }
    }
  }

  /** `url` (e.g. a database URL) pointed at this proxy instead of its target. */
  proxied(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.listenPort);
    return parsed.toString();
  }

  async stop(): Promise<void> {
    this.dropping = false;
    await this.cut();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private accept(client: Socket): void {
    const link: Link = { client, dropped: this.dropping };
    this.links.add(link);
    client.on('error', () => this.close(link)).on('close', () => this.close(link));
    if (link.dropped) {
      // Heard, never answered: read and discard.
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    upstream.on('error', () => this.close(link)).on('close', () => this.close(link));
    this.forward(link, client, upstream);
    this.forward(link, upstream, client);
  }

  /** Copies `from` to `to` with backpressure, until the link is blackholed. */
  private forward(link: Link, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (link.dropped) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  private close(link: Link): void {
    link.client.destroy();
    link.upstream?.destroy();
    this.links.delete(link);
  }
}
