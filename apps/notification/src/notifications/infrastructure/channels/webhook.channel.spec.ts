import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { NotificationMessage } from '../../domain/notification';
import { WebhookChannel } from './webhook.channel';

/** A real HTTP server on 127.0.0.1 that records the requests it gets and answers as told. */
async function receiver(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const message: NotificationMessage = { orderId: 'o-1', eventId: 'e-1', eventType: 'order.created', correlationId: 'c-1', subject: 's', body: 'b' };
const TOKEN = 'T000/B000/XXXXsecretXXXX';
const channel = (url: string, timeoutMs = 2000) => new WebhookChannel({ url, timeoutMs, retries: 1 });
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('delivered'),
    (e: Error) => e,
  );

describe('WebhookChannel against real HTTP receivers', () => {
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (answer: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = await receiver(answer);
    servers.push(server);
    return server;
  };

  it('does not follow a 307 to a loopback canary: the canary receives nothing and the delivery fails naming the redirect (Done-when 6)', async () => {
    const canary = await start((_req, res) => res.writeHead(204).end());
    const hook = await start((_req, res) => res.writeHead(307, { location: `${canary.url}/internal/admin` }).end());
    const error = await failureOf(channel(`${hook.url}/hooks/${TOKEN}`).deliver(message));
    expect(error.message).toContain('webhook answered 307');
    expect(error.message).toContain('redirects are not followed');
    expect(hook.hits).toHaveLength(2); // the try and its one retry
    expect(canary.hits).toEqual([]);
  });

  it('names the receiver by scheme and host only and never echoes what it answered', async () => {
    const hook = await start((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace with password=hunter2'));
    const error = await failureOf(channel(`${hook.url}/hooks/${TOKEN}?key=abc`).deliver(message));
    expect(error.message).toBe(`webhook delivery to ${hook.url} failed: webhook answered 500`);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('secret');
  });

  it('accepts a 2xx without reading its body, however large', async () => {
    const hook = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump(); // endless: only ends when the client goes away
    });
    await expect(channel(`${hook.url}/hooks`).deliver(message)).resolves.toBeUndefined();
  });

  it('gives up on a receiver that does not answer within the timeout, saying so', async () => {
    const hook = await start(() => undefined); // never answers
    const error = await failureOf(channel(`${hook.url}/hooks/${TOKEN}`, 200).deliver(message));
    expect(error.message).toBe(`webhook delivery to ${hook.url} failed: no answer within 200 ms`);
  });

  it('summarises an unreachable receiver by its error code', async () => {
    const gone = await receiver((_req, res) => res.end());
    await gone.close();
    const error = await failureOf(channel(`${gone.url}/hooks/${TOKEN}`).deliver(message));
    expect(error.message).toBe(`webhook delivery to ${gone.url} failed: cannot reach the receiver (ECONNREFUSED)`);
  });
});
