import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The layer rules of docs/house-style, checked on every test run: a rule
 * broken here is a design change that needs an ADR, not a quick import.
 */
const ROOT = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !/\.(e2e-|int-)?spec\.ts$/.test(path) ? [path] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
}

const files = [...sourceFiles(join(ROOT, 'apps')), ...sourceFiles(join(ROOT, 'libs')), ...sourceFiles(join(ROOT, 'scripts'))];
const where = (file: string) => relative(ROOT, file);

function violations(select: (file: string) => boolean, forbidden: (specifier: string) => boolean): string[] {
  return files.filter(select).flatMap((file) => imports(file).filter(forbidden).map((spec) => `${where(file)} imports ${spec}`));
}

describe('architecture', () => {
  it('keeps kafkajs inside libs/kafka, so the client can be swapped in one place', () => {
    expect(violations((f) => !where(f).startsWith('libs/kafka/'), (s) => s === 'kafkajs' || s.startsWith('kafkajs/'))).toEqual([]);
  });

  it('keeps the event contract free of Nest, TypeORM and kafkajs', () => {
    expect(violations((f) => where(f).startsWith('libs/events/'), (s) => /^(@nestjs\/|typeorm|kafkajs|pg$)/.test(s))).toEqual([]);
  });

  it('never lets an app import another app: they talk through Kafka only', () => {
    for (const app of ['order', 'payment', 'notification']) {
      const others = ['order', 'payment', 'notification'].filter((a) => a !== app);
      expect(
        violations(
          (f) => where(f).startsWith(`apps/${app}/`),
          (s) => others.some((other) => s.includes(`apps/${other}/`) || s.startsWith(`../../${other}/`)),
        ),
      ).toEqual([]);
    }
  });

  it('keeps domain code free of infrastructure (no Nest, TypeORM, Kafka or database imports)', () => {
    expect(
      violations(
        (f) => /^apps\/[^/]+\/src\/[^/]+\/domain\//.test(where(f)),
        (s) => /^(@nestjs\/|typeorm|kafkajs|pg$|@lib\/(kafka|outbox|messaging|service))/.test(s) || s.includes('/infrastructure/'),
      ),
    ).toEqual([]);
  });

  it('keeps libraries from importing apps', () => {
    expect(violations((f) => where(f).startsWith('libs/'), (s) => s.includes('apps/'))).toEqual([]);
  });
});
