/**
 * Writes the JSON Schemas of every registered event to `libs/events/schemas/`
 * and removes schema files of events that no longer exist.
 *
 *   npx ts-node libs/events/scripts/generate-schemas.ts          # write
 *   npx ts-node libs/events/scripts/generate-schemas.ts --check  # exit 1 if stale
 *
 * The files are committed so that other teams and tools can read the
 * contract without running TypeScript; a unit test fails when they are stale.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderJsonSchemaFiles } from '../src/json-schema';

const dir = join(__dirname, '..', 'schemas');
const USAGE = `usage: npm run events:schemas [-- --check]

Writes the JSON Schema of every registered event to libs/events/schemas/ and removes those of events that
no longer exist.

  --check   write nothing; exit 1 when the committed schemas are stale`;

// libs/events may not import libs/infra's parseCommandLine (layer rules); the same parseArgs, and no .env: it reads no settings.
let check = false;
try {
  const { values } = parseArgs({ strict: true, options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  check = values.check ?? false;
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const files = renderJsonSchemaFiles();

mkdirSync(dir, { recursive: true });
const stale = readdirSync(dir).filter((name) => name.endsWith('.json') && !(name in files));
const changed = Object.entries(files).filter(([name, content]) => !existsSync(join(dir, name)) || readFileSync(join(dir, name), 'utf8') !== content);

if (check) {
  if (stale.length + changed.length > 0) {
    console.error(`Stale schemas in ${dir}: ${[...changed.map(([n]) => n), ...stale].join(', ')}`);
    process.exit(1);
  }
  console.log(`Schemas in ${dir} are up to date.`);
} else {
  for (const name of stale) rmSync(join(dir, name));
  for (const [name, content] of changed) writeFileSync(join(dir, name), content);
  console.log(`Wrote ${changed.length} and removed ${stale.length} schema file(s) in ${dir}.`);
}
