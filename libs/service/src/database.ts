import { DataSource } from 'typeorm';
import { ServiceDefinition, serviceMigrations } from './service-definition';
import { CommonEnv } from './config/common-env';

/**
 * Settings of every database connection an app opens (its pool, the outbox
 * relay's session and backlog connection), so that nothing can hold work
 * silently for ever: a statement, a lock wait and an idle open transaction
 * each have a time limit on the server, and TCP keepalive notices a server
 * that vanished without closing the connection (which otherwise takes the
 * kernel's ~2 h). Names as node-postgres takes them.
 */
export function databaseSessionSettings(env: CommonEnv) {
  return {
    statement_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS,
    lock_timeout: env.DATABASE_LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: env.DATABASE_KEEPALIVE_IDLE_MS,
  };
}

const MIGRATION_LOCK = 0x6d19_a7e5; // "migrations"

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Applies pending migrations while holding a session advisory lock, so that
 * instances starting at the same time take turns instead of racing.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Another instance may migrate for longer than the lock timeout: wait for it, however long.
    await runner.query('SET lock_timeout = 0');
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.query('RESET lock_timeout').catch(() => undefined);
    await runner.release();
  }
}

/**
 * Brings the app's schema up to date with the role that owns it: through
 * the app's own connection when the migration URL is the runtime URL, else
 * through a short-lived connection of the migration role. A role that may not
 * change the schema (the runtime role) with migrations pending fails with one
 * line saying so and what to set.
 */
export async function migrateSchema(
  runtime: DataSource,
  definition: Pick<ServiceDefinition, 'app' | 'publishes' | 'migrations'>,
  migrationUrl: string,
): Promise<string[]> {
  const separate = migrationUrl !== (runtime.options as { url?: string }).url;
  const dataSource = separate
    ? new DataSource({ type: 'postgres', url: migrationUrl, migrations: serviceMigrations(definition), extra: { connectionTimeoutMillis: 5000, max: 2 } })
    : runtime;
  try {
    if (separate) await dataSource.initialize();
    return await runMigrationsExclusively(dataSource);
  } catch (error) {
    if (
      (error as { code?: string; driverError?: { code?: string } }).code === INSUFFICIENT_PRIVILEGE ||
      (error as { driverError?: { code?: string } }).driverError?.code === INSUFFICIENT_PRIVILEGE
    ) {
      const user = safeUser(migrationUrl);
      const variable = `${definition.app.toUpperCase()}_MIGRATION_DATABASE_URL`;
      throw new Error(
        `migrations are pending and the database role "${user}" may not change the schema (it is a runtime role: rows only); set ${variable} to the URL of the role that owns the schema`,
      );
    }
    throw error;
  } finally {
    if (separate && dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
  }
}

function safeUser(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || '(default user)';
  } catch {
    return '(unknown)';
  }
}
