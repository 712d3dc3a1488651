import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the golden and invalid example messages live. */
export const FIXTURES_DIR = join(__dirname, '..', 'fixtures');

/** One golden example per registered (type, version), as raw file text. */
export function goldenFixtures(): { name: string; text: string }[] {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(FIXTURES_DIR, name), 'utf8') }));
}

/** The raw text of `fixtures/invalid/<name>`. */
export function invalidFixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, 'invalid', name), 'utf8');
}

/** The names of every file under `fixtures/invalid/`. */
export function invalidFixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, 'invalid')).sort();
}

/** The golden example of `name` (e.g. `order.created.v1.json`) decoded. */
export function golden(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8'));
}
