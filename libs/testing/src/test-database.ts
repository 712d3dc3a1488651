import { createDatabase, dropDatabase } from '@lib/infra';

/** The PostgreSQL server tests create their databases on: `TEST_POSTGRES_URL`, or the local one. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A database of one test's own. */
export interface TestDatabase {
  url: string;
  name: string;
  /** Drops it (sessions still connected are terminated). */
  drop(): Promise<void>;
}

/**
 * A throw-away database for one suite, named `test_<prefix>_<random>`, on
 * `serverUrl` (default {@link TEST_POSTGRES_URL}). `drop()` refuses any
 * database whose name does not start with `test_`, so a misconfigured test
 * can never drop a real one.
 */
export async function createTestDatabase(prefix: string, serverUrl: string = TEST_POSTGRES_URL): Promise<TestDatabase> {
  const name = `test_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const url = `${serverUrl.replace(/\/+$/, '')}/${name}`;
  await createDatabase(url);
  return {
    url,
    name,
    drop: async () => {
      if (!name.startsWith('test_')) throw new Error(`refusing to drop ${name}: not a test database`);
      await dropDatabase(url);
    },
  };
}
