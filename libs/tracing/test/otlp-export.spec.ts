import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..', '..');

describe('tracing switched on by an OTLP endpoint', () => {
  let collector: Server;
  const received: { method?: string; url?: string; body: string }[] = [];

  beforeAll(async () => {
    collector = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    collector.listen(0);
    await once(collector, 'listening');
  });

  afterAll(() => new Promise((resolve) => collector.close(resolve)));

  it('exports the spans of a process to <endpoint>/v1/traces as OTLP JSON, named after the app', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
    await promisify(execFile)(process.execPath, ['-r', 'ts-node/register', join(__dirname, 'support', 'export-one-span.ts'), endpoint], {
      cwd: ROOT,
      timeout: 30_000,
    });

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/v1/traces' });
    const [resourceSpans] = JSON.parse(received[0].body).resourceSpans;
    expect(resourceSpans.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'payment' } });
    expect(resourceSpans.scopeSpans[0].spans.map((s: { name: string }) => s.name)).toEqual(['order.created process']);
  }, 30_000);
});
