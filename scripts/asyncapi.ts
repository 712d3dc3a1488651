/**
 * `npm run docs:asyncapi`: regenerates docs/asyncapi.yaml from the code
 * (`--check`: exits 1 if the committed file is stale).
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine } from '@lib/infra';
import { renderAsyncApiYaml } from './asyncapi/render';

const USAGE = `usage: npm run docs:asyncapi [-- --check]

Regenerates docs/asyncapi.yaml from the event contract in libs/events.

  --check   write nothing; exit 1 when the committed file is stale`;

const { values } = parseCommandLine({ usage: USAGE, options: { check: { type: 'boolean' } } });

const file = join(__dirname, '..', 'docs', 'asyncapi.yaml');
const fresh = renderAsyncApiYaml();
if (values.check) {
  const same = readFileSync(file, 'utf8') === fresh;
  console.log(same ? 'docs/asyncapi.yaml is up to date' : 'docs/asyncapi.yaml is stale: run npm run docs:asyncapi');
  process.exit(same ? 0 : 1);
}
writeFileSync(file, fresh);
console.log(`wrote ${file}`);
