import 'reflect-metadata';
import { AppName } from '@lib/events';
import { bootstrapService, ServiceDefinition } from '@lib/service';
import { createTestDatabase, startPrivateKafka } from '@lib/testing';
import { INestApplication, Type } from '@nestjs/common';
import request from 'supertest';

/** An app as `nest start <app>` boots it: its root module and its service definition. */
export interface AppUnderTest {
  module: Type<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definition: ServiceDefinition<any>;
}

export interface AppsUnderTest {
  /** `localhost:<port>` of the suite's own broker. */
  brokers: string[];
  app(name: AppName): INestApplication;
  http(name: AppName): ReturnType<typeof request>;
  /** URL of the app's throw-away database. */
  databaseUrl(name: AppName): string;
  /** Closes the apps (gracefully), stops the broker, drops the databases, restores the environment. */
  stop(): Promise<void>;
}

/**
 * Boots apps in this process exactly as `nest start` does (`bootstrapService`),
 * each on a throw-away database, all on a Kafka broker of the suite's own
 * (`startPrivateKafka`), so the suite neither sees other suites' messages nor
 * competes with their consumer groups. `env` adds or overrides variables
 * (ports are 0: any free one). Whatever was started is released by `stop()`,
 * also when booting failed halfway.
 */
export async function startAppsUnderTest(
  suite: { broker: string; port: number },
  apps: Partial<Record<AppName, AppUnderTest>>,
  env: Record<string, string> = {},
): Promise<AppsUnderTest> {
  const savedEnv = { ...process.env };
  const running = new Map<AppName, INestApplication>();
  const databases = new Map<AppName, { url: string; drop: () => Promise<void> }>();
  let kafka: { brokers: string[]; stop: () => Promise<void> } | undefined;

  const stop = async () => {
    for (const app of [...running.values()].reverse()) await app.close();
    await Promise.all([kafka?.stop(), ...[...databases.values()].map((db) => db.drop())]);
    process.env = savedEnv;
  };

  try {
    kafka = await startPrivateKafka(suite.broker, suite.port);
    const names = Object.keys(apps) as AppName[];
    const dbs = await Promise.all(names.map((name) => createTestDatabase(`${suite.broker}_${name}`)));
    names.forEach((name, i) => databases.set(name, dbs[i]));
    Object.assign(process.env, {
      KAFKA_BROKERS: kafka.brokers.join(','),
      ...Object.fromEntries(names.flatMap((name) => [[`${name.toUpperCase()}_DATABASE_URL`, databases.get(name)!.url], [`${name.toUpperCase()}_PORT`, '0']])),
      ...env,
    });
    for (const name of names) running.set(name, await bootstrapService(apps[name]!.module, apps[name]!.definition, { port: 0 }));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const app = (name: AppName) => {
    const found = running.get(name);
    if (!found) throw new Error(`${name} is not running in this suite`);
    return found;
  };
  return {
    brokers: kafka.brokers,
    app,
    http: (name) => request(app(name).getHttpServer()),
    databaseUrl: (name) => databases.get(name)!.url,
    stop,
  };
}
