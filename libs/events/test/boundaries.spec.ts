import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(__dirname, '..', 'src');
const ALLOWED = ['class-validator', 'class-transformer', 'class-validator-jsonschema', 'reflect-metadata'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

function packagesImportedBy(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|require\(|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

describe('libs/events dependencies', () => {
  it('imports only class-validator, class-transformer and their helpers: no Nest, TypeORM or kafkajs', () => {
    const offending = sourceFiles(SRC).flatMap((file) =>
      packagesImportedBy(file)
        .filter((pkg) => !ALLOWED.includes(pkg))
        .map((pkg) => `${relative(SRC, file)} imports ${pkg}`),
    );
    expect(offending).toEqual([]);
  });
});
