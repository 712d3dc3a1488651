import 'reflect-metadata';
import { ServiceDefinition, serviceMigrations } from '@lib/service';
import { Client, Pool } from 'pg';
import { createTestDatabase } from './test-database';
import { DataSource } from 'typeorm';

/** A throw-away database of one app, migrated, and its TypeORM data source. */
export interface AppDatabase {
  dataSource: DataSource;
  url: string;
  /** Closes the data source and drops the database. */
  drop(): Promise<void>;
}

/**
 * A throw-away PostgreSQL database with exactly the schema the app runs on
 * (the outbox and inbox tables, then the app's own migrations) and its
 * entities: use-case specs run their handlers against real transactions here.
 */
export async function createAppDatabase(definition: Pick<ServiceDefinition, 'app' | 'entities' | 'publishes' | 'migrations'>): Promise<AppDatabase> {
  const database = await createTestDatabase(`usecase_${definition.app}`);
  const dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: definition.entities,
    migrations: serviceMigrations(definition),
    extra: { max: 4 },
  });
  try {
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.drop();
    throw error;
  }
  return {
    dataSource,
    url: database.url,
    drop: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    },
  };
}

/** An event waiting in an app's outbox, with the topic and key its row will be published with. */
export interface OutboxEntry {
  topic: string;
  key: string;
  event: Record<string, unknown> & { data: Record<string, unknown> };
}

/** The events waiting in an app's outbox, oldest first. */
export async function outboxOf(dataSource: DataSource): Promise<OutboxEntry[]> {
  const rows: { topic: string; message_key: string; payload: string }[] = await dataSource.query(
    `SELECT topic, message_key, payload::text AS payload FROM outbox ORDER BY id`,
  );
  return rows.map((row) => ({ topic: row.topic, key: row.message_key, event: JSON.parse(row.payload) as OutboxEntry['event'] }));
}

/**
 * How many sessions of the database `sql` is connected to sit inside a
 * transaction (`idle in transaction`), not counting the session asking: called
 * while an app makes a slow network call, 0 shows it holds no transaction (and
 * no pooled connection, no locks) open meanwhile.
 */
export async function transactionsOpenIn(sql: Pool | Client): Promise<number> {
  const { rows } = await sql.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
  );
  return Number(rows[0].n);
}
