import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { DatabaseUrlVar, databaseUrls, migrationDatabaseUrl, parseDatabaseUrl } from './config';
import { adminUrlFor, ensureAppRoles } from './database-roles';
import { InfraError, Logger, commandExists, consoleLogger, isPortOpen, sleep } from './util';

// Re-exported: it lives in ./config so that the preflight can use it without loading pg.
export { parseDatabaseUrl } from './config';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function databaseExists(url: string): Promise<boolean> {
  const { database, adminUrl } = parseDatabaseUrl(url);
  return withClient(adminUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1);
}

/** Creates the database named by `url` if it does not exist. Returns true if it created it. */
export async function createDatabase(url: string): Promise<boolean> {
  const { database, adminUrl } = parseDatabaseUrl(url);
  return withClient(adminUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 1) return false;
    try {
      await c.query(`CREATE DATABASE ${quoteIdent(database)}`);
      return true;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // 42P04 duplicate_database; 23505 when two CREATEs race on pg_database's unique index.
      if (code === '42P04' || code === '23505') return false;
      throw e;
    }
  });
}

/** Drops the database named by `url` if it exists, disconnecting its sessions. Returns true if it dropped it. */
export async function dropDatabase(url: string): Promise<boolean> {
  const { database, adminUrl } = parseDatabaseUrl(url);
  if (database === 'postgres' || database.startsWith('template')) {
    throw new InfraError(`refusing to drop the ${database} database`);
  }
  return withClient(adminUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount !== 1) return false;
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    return true;
  });
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Makes sure the PostgreSQL server of `url` accepts connections. A local
 * server that refuses is started with pg_ctlcluster when the machine has
 * Debian's postgresql-common (pg_lsclusters).
 */
export async function ensurePostgresRunning(url: string, opts: { log?: Logger; timeoutMs?: number } = {}): Promise<void> {
  const log = opts.log ?? consoleLogger;
  const { host, port } = parseDatabaseUrl(url);
  const probeHost = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
  if (await isPortOpen(port, probeHost)) return;
  if (!LOCAL_HOSTS.has(host)) {
    throw new InfraError(`PostgreSQL at ${host}:${port} is not reachable; start it or fix the *_DATABASE_URL variables`);
  }
  if (!commandExists('pg_lsclusters') || !commandExists('pg_ctlcluster')) {
    throw new InfraError(`PostgreSQL on ${host}:${port} refuses connections; start it (e.g. \`sudo systemctl start postgresql\`)`);
  }
  const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql').sort() : [];
  const version = versions[versions.length - 1];
  if (!version) throw new InfraError('PostgreSQL refuses connections and no cluster is configured under /etc/postgresql');
  log(`postgres: starting cluster ${version}/main`);
  const r = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { encoding: 'utf8' });
  if (r.status !== 0 && !/already running/i.test(`${r.stdout}${r.stderr}`)) {
    throw new InfraError(`could not start PostgreSQL (pg_ctlcluster ${version} main start, exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await isPortOpen(port, probeHost))) {
    if (Date.now() > deadline) throw new InfraError(`PostgreSQL on ${host}:${port} did not accept connections after start`);
    await sleep(200);
  }
}

/**
 * Starts PostgreSQL if needed and creates the app databases named by
 * ORDER_DATABASE_URL / PAYMENT_DATABASE_URL / NOTIFICATION_DATABASE_URL when
 * missing. Returns the names it created.
 */
export async function ensureDatabases(opts: { urls?: string[]; log?: Logger } = {}): Promise<string[]> {
  const log = opts.log ?? consoleLogger;
  const urls = opts.urls ?? Object.values(databaseUrls());
  const created: string[] = [];
  for (const url of urls) {
    await ensurePostgresRunning(url, { log });
    // PostgreSQL may still be starting (accepting TCP, refusing sessions) right after a start.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        // As the superuser: the app's own roles may not create databases.
        if (await createDatabase(adminUrlFor(url))) {
          const { database } = parseDatabaseUrl(url);
          created.push(database);
          log(`postgres: created database ${database}`);
        }
        break;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== '57P03' || Date.now() > deadline) {
          throw new InfraError(`cannot create database of ${redact(url)}: ${(e as Error).message}`);
        }
        await sleep(250);
      }
    }
  }
  if (!opts.urls) {
    // The default set: each app's migration role and runtime role (issue 13).
    for (const variable of Object.keys(databaseUrls()) as DatabaseUrlVar[]) {
      await ensureAppRoles({ runtimeUrl: databaseUrls()[variable], migrationUrl: migrationDatabaseUrl(variable) }, { log });
    }
  }
  return created;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
