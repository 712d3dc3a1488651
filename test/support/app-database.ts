import 'reflect-metadata';
import { ServiceDefinition, serviceMigrations } from '@lib/service';
import { createTestDatabase } from '@lib/testing';
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
  const dataSource = new DataSource({ type: 'postgres', url: database.url, entities: definition.entities, migrations: serviceMigrations(definition), extra: { max: 4 } });
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

/** The events waiting in an app's outbox, oldest first, with the topic and key each row will be published with. */
export async function outboxOf(dataSource: DataSource): Promise<{ topic: string; key: string; event: Record<string, unknown> & { data: Record<string, unknown> } }[]> {
  const rows: { topic: string; message_key: string; payload: string }[] = await dataSource.query(`SELECT topic, message_key, payload::text AS payload FROM outbox ORDER BY id`);
  return rows.map((row) => ({ topic: row.topic, key: row.message_key, event: JSON.parse(row.payload) }));
}
