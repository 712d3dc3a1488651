import { Client } from 'pg';
import { InfraError, Logger, consoleLogger } from './util';

/**
 * Least-privilege roles of one app's database (issue 13):
 * - the migration role owns the database and its `public` schema, and so
 *   every table the migrations create: it runs the migrations;
 * - the runtime role may connect and read and write the rows of the tables
 *   (SELECT, INSERT, UPDATE, DELETE; sequences: USAGE, SELECT), nothing else:
 *   no CREATE, DROP, ALTER or TRUNCATE, no superuser.
 * Roles are named by the user part of the two URLs and get the URLs'
 * passwords. Idempotent; tables that another role (e.g. `postgres`, before
 * the roles existed) created are handed to the migration role.
 */
export interface AppDatabaseRoles {
  /** Runtime URL of the app (`ORDER_DATABASE_URL`). */
  runtimeUrl: string;
  /** Migration URL of the app (`ORDER_MIGRATION_DATABASE_URL`). */
  migrationUrl: string;
}

/** A connection as a superuser: `POSTGRES_ADMIN_URL`, default the `postgres` user on the app database's server. */
export function adminUrlFor(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.POSTGRES_ADMIN_URL?.trim();
  const admin = new URL(given || url);
  if (!given) {
    admin.username = 'postgres';
    admin.password = '';
  }
  admin.pathname = `/${databaseOf(url)}`;
  return admin.toString();
}

function userOf(url: string): { user: string; password: string } {
  const u = new URL(url);
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
const withoutPassword = (url: string) => {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
};
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Whether `url` names a role of its own (not the superuser, not the OS user): then roles are set up for it. */
export function hasOwnRoles({ runtimeUrl, migrationUrl }: AppDatabaseRoles): boolean {
  const runtime = userOf(runtimeUrl).user;
  const migration = userOf(migrationUrl).user;
  return !!runtime && !!migration && runtime !== migration && runtime !== 'postgres';
}

/**
 * Creates (or updates) the two roles of one app database and their rights.
 * The database must exist. Returns the role names it created.
 */
export async function ensureAppRoles(roles: AppDatabaseRoles, opts: { log?: Logger; adminUrl?: string } = {}): Promise<string[]> {
  const log = opts.log ?? consoleLogger;
  if (!hasOwnRoles(roles)) return [];
  const database = databaseOf(roles.runtimeUrl);
  if (databaseOf(roles.migrationUrl) !== database) {
    throw new InfraError(
      `the runtime and migration URLs name different databases (${withoutPassword(roles.runtimeUrl)}, ${withoutPassword(roles.migrationUrl)})`,
    );
  }
  const runtime = userOf(roles.runtimeUrl);
  const owner = userOf(roles.migrationUrl);
  const client = new Client({ connectionString: opts.adminUrl ?? adminUrlFor(roles.runtimeUrl), connectionTimeoutMillis: 5000 });
  await client.connect();
  const created: string[] = [];
  try {
    for (const role of [owner, runtime]) {
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.user])).rowCount === 1;
      const password = role.password ? `PASSWORD ${literal(role.password)}` : 'PASSWORD NULL';
      try {
        await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${ident(role.user)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ${password}`);
      } catch (e) {
        // Two infra:up at once: the other one created it.
        if ((e as { code?: string }).code !== '42710') throw e;
      }
      if (!exists) created.push(role.user);
    }
    const o = ident(owner.user);
    const r = ident(runtime.user);
    const statements = [
      `ALTER DATABASE ${ident(database)} OWNER TO ${o}`,
      `REVOKE ALL ON DATABASE ${ident(database)} FROM PUBLIC`,
      `GRANT CONNECT, TEMPORARY ON DATABASE ${ident(database)} TO ${r}`,
      `ALTER SCHEMA public OWNER TO ${o}`,
      `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
      `GRANT USAGE ON SCHEMA public TO ${r}`,
      // Tables created before the roles existed (by the superuser) become the migration role's.
      `DO $$ DECLARE t record; BEGIN
         FOR t IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v') AND pg_get_userbyid(c.relowner) <> ${literal(owner.user)}
                    AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
         LOOP
           EXECUTE format('ALTER %s public.%I OWNER TO %I', CASE t.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, t.relname, ${literal(owner.user)});
         END LOOP;
       END $$`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${r}`,
    ];
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
  log(
    `postgres: ${database}: ${owner.user} owns the schema and runs migrations, ${runtime.user} reads and writes rows${created.length ? ` (created ${created.join(', ')})` : ''}`,
  );
  return created;
}
