import { createDatabase, dropDatabase } from '@lib/infra';

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/**
 * A throw-away database for one suite, named `test_<prefix>_<random>`.
 * `drop()` refuses any database whose name does not start with `test_`,
 * so a misconfigured test can never drop a real one.
 */
export async function createTestDatabase(prefix: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `test_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const url = `${SERVER_URL}/${name}`;
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
