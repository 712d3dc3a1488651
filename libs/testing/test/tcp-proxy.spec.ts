import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';
import { eventually, TcpProxy } from '@lib/testing';

/** An echo server on a free port. */
const serverSockets = new Set<Socket>();
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => {
    serverSockets.add(socket);
    socket.on('error', () => undefined).on('close', () => serverSockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

/** A client that keeps what it receives and notes how its connection ended. */
function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  const state = { received: '', closed: false, error: undefined as string | undefined, socket };
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString('utf8')));
  socket.on('error', (e) => (state.error = e.message));
  socket.on('close', () => (state.closed = true));
  return state;
}

describe('TcpProxy', () => {
  let server: Server;
  let proxy: TcpProxy;

  beforeEach(async () => {
    server = await echoServer();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  });

  afterEach(async () => {
    await proxy.stop();
    for (const socket of serverSockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('forwards bytes both ways', async () => {
    const c = client(proxy.port);
    c.socket.write('hello');
    await eventually(() => c.received === 'hello', { timeoutMs: 5000, what: 'echo' });
    c.socket.destroy();
  });

  it('blackholes silently: open and new connections stay open and hear nothing, and heal() lets new connections through again', async () => {
    const open = client(proxy.port);
    open.socket.write('a');
    await eventually(() => open.received === 'a', { timeoutMs: 5000, what: 'echo before the cut' });

    proxy.blackhole();
    open.socket.write('b');
    const during = client(proxy.port);
    during.socket.write('c');
    await eventually(() => proxy.connections === 2, { timeoutMs: 5000, what: 'the connection made during the cut accepted' });
    // Whatever was sent during the cut is dropped: a later byte through a fresh connection proves time has passed.
    proxy.heal();
    const after = client(proxy.port);
    after.socket.write('d');
    await eventually(() => after.received === 'd', { timeoutMs: 5000, what: 'echo after the heal' });

    expect(open.received).toBe('a');
    expect(during.received).toBe('');
    // No reset, no close: the client only finds out through its own timeouts.
    expect([open.closed, during.closed, open.error, during.error]).toEqual([false, false, undefined, undefined]);
    // The connections that were blackholed stay dead.
    open.socket.write('e');
    after.socket.write('f');
    await eventually(() => after.received === 'df', { timeoutMs: 5000, what: 'second echo after the heal' });
    expect(open.received).toBe('a');
    for (const c of [open, during, after]) c.socket.destroy();
  });

  it('heal({ resetDropped: true }) resets the connections that lived through the blackhole, as keepalive would', async () => {
    const open = client(proxy.port);
    open.socket.write('a');
    await eventually(() => open.received === 'a', { timeoutMs: 5000, what: 'echo before the cut' });
    proxy.blackhole();
    proxy.heal({ resetDropped: true });
    await eventually(() => open.closed, { timeoutMs: 5000, what: 'the blackholed connection reset' });
    const after = client(proxy.port);
    after.socket.write('b');
    await eventually(() => after.received === 'b', { timeoutMs: 5000, what: 'echo after the heal' });
    after.socket.destroy();
  });

  it('points a URL at itself', () => {
    expect(proxy.proxied('postgres://u:p@db.example:5432/orders')).toBe(`postgres://u:p@127.0.0.1:${proxy.port}/orders`);
  });

  it('cut() resets open connections and refuses new ones until restore()', async () => {
    const open = client(proxy.port);
    open.socket.write('a');
    await eventually(() => open.received === 'a', { timeoutMs: 5000, what: 'echo before the cut' });
    await proxy.cut();
    await eventually(() => open.closed, { timeoutMs: 5000, what: 'connection closed by the cut' });
    const refused = client(proxy.port);
    await eventually(() => refused.closed && refused.error !== undefined, { timeoutMs: 5000, what: 'connection refused' });
    await proxy.restore();
    const again = client(proxy.port);
    again.socket.write('z');
    await eventually(() => again.received === 'z', { timeoutMs: 5000, what: 'echo after restore' });
    again.socket.destroy();
  });
});
