import 'reflect-metadata';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAsyncApiYaml } from './render';

describe('docs/asyncapi.yaml', () => {
  const committed = readFileSync(join(__dirname, '..', '..', 'docs', 'asyncapi.yaml'), 'utf8');

  it('is exactly what the code generates (run npm run docs:asyncapi after a contract change)', () => {
    expect(committed).toBe(renderAsyncApiYaml());
  });

  it('is a valid AsyncAPI document for the AsyncAPI parser', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison -- the parser's diagnostics and its DiagnosticSeverity come from two copies of @stoplight/types
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    expect(
      document
        ?.channels()
        .all()
        .map((c) => c.address())
        .sort(),
    ).toEqual([
      'notification.dlq',
      'order.cancelled',
      'order.confirmed',
      'order.created',
      'order.dlq',
      'payment.completed',
      'payment.dlq',
      'payment.failed',
      'payment.void-requested',
      'payment.voided',
    ]);
  }, 30_000);
});
