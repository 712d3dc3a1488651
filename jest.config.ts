import type { Config } from 'jest';
import { pathsToModuleNameMapper } from 'ts-jest';
import { compilerOptions } from './tsconfig.json';

/**
 * Three projects, one `npm test`:
 * - unit:        pure code, no broker, no database (`*.spec.ts`)
 * - integration: libraries against the real Kafka broker and PostgreSQL (`*.int-spec.ts`)
 * - e2e:         apps booted for real, talking to the real broker and database (`*.e2e-spec.ts`)
 * Integration and e2e start the local infrastructure themselves (global setup), never skip.
 */
const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  rootDir: __dirname,
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.local/'],
} satisfies Config;

const withInfra = {
  ...shared,
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  slowTestThreshold: 30,
} satisfies Config;

const config: Config = {
  maxWorkers: 2,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts,test}/**/*.spec.ts'] },
    { ...withInfra, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,scripts,test}/**/*.int-spec.ts'] },
    { ...withInfra, displayName: 'e2e', testMatch: ['<rootDir>/{apps,test}/**/*.e2e-spec.ts'] },
  ],
};

export default config;
