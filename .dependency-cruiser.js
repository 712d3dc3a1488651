/**
 * The layer rules of the monorepo (docs/adr/0007-lint-and-layer-rules.md),
 * checked by `npm run lint` (`depcruise`). A rule broken here is a design
 * change that needs an ADR, not a quick import.
 *
 * Paths are relative to the repository root; imports through the tsconfig
 * aliases (`@lib/events`, ...) are resolved to the files they name, so a rule
 * on `libs/kafka/` catches `@lib/kafka` too. npm packages are matched by their
 * resolved path (`node_modules/<name>/`), however they are imported.
 *
 * test/architecture/layer-rules.spec.ts runs these rules on fixture files that
 * break each one, so a rule that stops matching fails a test.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** Test code: spec files and the test/ folders of apps and libs (bench/ and test/ are outside every rule's `from`). */
const TEST_CODE = '(^|/)test/|\\.(spec|int-spec|e2e-spec)\\.ts$';
const npm = (...names) => `(^|/)node_modules/(${names.join('|')})/`;

module.exports = {
  forbidden: [
    {
      name: 'apps-not-to-other-apps',
      severity: 'error',
      comment: 'An app never imports another app: the apps talk through Kafka only. Share code through a library in libs/.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'events-contract-free-of-frameworks',
      severity: 'error',
      comment:
        'libs/events is the message contract every app shares: it imports class-validator/class-transformer and Node built-ins only ' +
        '(no Nest, TypeORM, kafkajs or pg), and no other library or app.',
      from: { path: '^libs/events/', pathNot: TEST_CODE },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: ['^libs/events/', npm('class-validator', 'class-transformer', 'class-validator-jsonschema', 'reflect-metadata')],
      },
    },
    {
      name: 'only-libs-kafka-imports-kafkajs',
      severity: 'error',
      comment:
        'kafkajs is imported in libs/kafka only, so the client can be swapped in one place; use @lib/kafka. ' +
        'Exception: bench/peers/, the hand-written peers the saga benchmark compares us with, which use kafkajs as users would.',
      from: { pathNot: ['^libs/kafka/', '^bench/peers/'] },
      to: { path: npm('kafkajs') },
    },
    {
      name: 'domain-free-of-infrastructure',
      severity: 'error',
      comment:
        'Domain code (apps/*/src/**/domain/) is plain TypeScript: no Nest, TypeORM, kafkajs or pg, no @lib/kafka|outbox|messaging|service|infra, ' +
        'no infrastructure/ folder. Put the adapter in infrastructure/ and let the domain define the port.',
      from: { path: ['^apps/[^/]+/src/domain/', '^apps/[^/]+/src/.*/domain/'] },
      to: {
        path: [npm('@nestjs', 'typeorm', 'kafkajs', 'pg'), '^libs/(kafka|outbox|messaging|service|infra)/', '/infrastructure/'],
      },
    },
    {
      name: 'libs-not-to-apps-or-scripts',
      severity: 'error',
      comment: 'A library never imports an app or a command-line script: they depend on libraries, not the other way round.',
      from: { path: '^libs/' },
      to: { path: '^(apps|scripts)/' },
    },
    {
      name: 'scripts-not-to-apps',
      severity: 'error',
      comment: 'scripts/ are command-line entry points over the libraries; they never import app internals (apps/). Cross-app checks belong in test/.',
      from: { path: '^scripts/' },
      to: { path: '^apps/' },
    },
    {
      name: 'production-not-to-libs-testing',
      severity: 'error',
      comment: 'Production code (apps, scripts, libraries other than libs/testing) never imports libs/testing; only tests and benchmarks do.',
      from: { path: '^(apps|libs|scripts)/', pathNot: ['^libs/testing/', TEST_CODE] },
      to: { path: '^libs/testing/' },
    },
    {
      name: 'no-circular-libs',
      severity: 'error',
      comment: 'Libraries form no import cycle (across libraries or inside one): a cycle means two modules that can only change together.',
      from: { path: '^libs/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable-imports',
      severity: 'error',
      comment:
        'Every import resolves to a file or a package. Besides catching typos, this keeps the rules above honest: ' +
        'an import they cannot resolve (e.g. a new @lib/* alias missing from tsconfig.json) would escape them.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Resolve the @lib/* aliases exactly as the compiler does.
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a domain file may not even mention an infrastructure type.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)dist/', '^test/architecture/fixtures/'] },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
