import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The layer rules live in .dependency-cruiser.js and run in `npm run lint`.
 * A rule whose pattern stops matching (a typo, a moved folder, an alias that
 * no longer resolves) would pass silently there; this test runs the same
 * config on fixtures/, a miniature of the repository in which each file
 * named `imports-*` breaks exactly one rule and the others are allowed, and
 * expects exactly those violations, rule by rule.
 */
const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruiseFixtures(): Violation[] {
  // The CLI, as `npm run lint` runs it; from inside fixtures/ so that its paths read like the repository's.
  const result = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
      'apps',
      'libs',
      'scripts',
      '--config',
      join(ROOT, '.dependency-cruiser.js'),
      '--output-type',
      'json',
    ],
    { cwd: FIXTURES, encoding: 'utf8', timeout: 30_000 },
  );
  if (!result.stdout) throw new Error(`dependency-cruiser printed nothing (exit ${result.status}): ${result.stderr}`);
  return (JSON.parse(result.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

let violations: Violation[] = [];
beforeAll(() => {
  violations = cruiseFixtures();
});
const brokenBy = (rule: string) =>
  violations
    .filter((v) => v.rule.name === rule)
    .map((v) => v.from)
    .sort();

describe('the layer rules of .dependency-cruiser.js', () => {
  it.each([
    ['apps-not-to-other-apps', ['apps/order/src/imports-payment-app.ts']],
    ['events-contract-free-of-frameworks', ['libs/events/src/imports-lib-kafka.ts', 'libs/events/src/imports-nest.ts']],
    ['only-libs-kafka-imports-kafkajs', ['apps/order/src/imports-kafkajs.ts']],
    [
      'domain-free-of-infrastructure',
      [
        'apps/order/src/orders/domain/imports-infrastructure.ts',
        'apps/order/src/orders/domain/imports-lib-outbox.ts',
        'apps/order/src/orders/domain/imports-nest.ts',
        'apps/order/src/orders/domain/imports-pg.ts',
        'apps/order/src/orders/domain/imports-typeorm.ts',
      ],
    ],
    ['libs-not-to-apps-or-scripts', ['libs/messaging/src/imports-app.ts', 'libs/messaging/src/imports-script.ts']],
    ['scripts-not-to-apps', ['scripts/imports-app.ts']],
    ['production-not-to-libs-testing', ['apps/order/src/imports-libs-testing.ts']],
    ['no-circular-libs', ['libs/cycle-a/src/index.ts']],
    ['no-unresolvable-imports', ['scripts/imports-unknown-alias.ts']],
  ])('%s flags exactly the fixture files that break it', (rule, files) => {
    expect(brokenBy(rule)).toEqual(files);
  });

  it('flags nothing else: the allowed imports in the fixtures (domain → @lib/events, tests → libs/testing, ...) pass', () => {
    const unexpected = violations.filter((v) => !/\/imports-[^/]+\.ts$/.test(v.from) && v.rule.name !== 'no-circular-libs');
    expect(unexpected.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });
});
