// @ts-check
/**
 * ESLint for the whole monorepo, in the shape of Nest's own starter:
 * `@eslint/js` recommended + typescript-eslint `recommendedTypeChecked`, with
 * Prettier owning the layout. Layer rules (who may import whom) are not here:
 * they live in `.dependency-cruiser.js`, which `npm run lint` runs as well.
 *
 * Formatting: `eslint-config-prettier` switches off every ESLint rule that
 * Prettier decides, and `prettier --check` is its own step of `npm run lint`
 * (see package.json), so ESLint reports code, never layout.
 */
import eslint from '@eslint/js';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import eslintConfigPrettier from 'eslint-config-prettier/flat';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Fixture files break the layer rules on purpose (test/architecture); they are read, never run.
    ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '.local/**', 'test/architecture/fixtures/**'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      sourceType: 'commonjs',
      parserOptions: {
        // One program for the whole tree (the root tsconfig.json includes apps, libs,
        // scripts, test and bench); jest.config.ts sits outside it and is checked alone.
        projectService: { allowDefaultProject: ['jest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Every eslint-disable says why, after `--`.
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: ['eslint-enable'] }],
      // `_`-prefixed names say "unused on purpose" (e.g. a field left out of a rest spread).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // Nest, TypeORM and class-validator take classes as `Function` (entities, migrations,
      // metadata look-ups); code that hands classes to them mirrors their parameter types.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // An `async` method that fulfils a Promise-returning contract (a notification channel,
      // a kafkajs batch handler) without awaiting anything is intended; promises that are
      // dropped are what matters, and no-floating-promises catches those.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests and benchmarks read untyped JSON (supertest's `body`, `JSON.parse`, broker
    // records) and assert on its shape with `expect`, and feed deliberately ill-typed
    // input (`as any`) to see it rejected; typing all of that would add ceremony, not
    // safety. A value stringified wrongly in a test shows as a failed assertion or an odd
    // test name, not as a production bug. So these checks hold for production code only.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      // Tests cast parsed JSON to `Record<string, any>` to reach into it; the rule takes that
      // for a no-op on a `Record<string, unknown>` (any/unknown type arguments look alike to
      // it) and its autofix removes casts the compiler needs.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // The config files themselves are plain JavaScript outside the TypeScript program.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  eslintConfigPrettier,
);
