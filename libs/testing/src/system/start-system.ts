import { AppName, Apps } from '@lib/events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { EventProducer } from '../event-producer';
import { KafkaSource, KafkaUnderTest } from '../private-kafka';
import { TopicRecorder } from '../topic-recorder';
import { createTestDatabase, TestDatabase, TEST_POSTGRES_URL } from '../test-database';
import { AppProcess, REPO_ROOT } from '@lib/infra';
import { AppInstance, databaseVariable, HttpClient, httpClient } from './app-instance';
import { buildBundle } from './app-bundles';
import { AppModule, InProcessApp, InProcessAppOptions } from './in-process-app';
import { portAllocator } from './ports';

interface CommonOptions {
  /**
   * Names the system: its private broker, its databases (`test_<name>_<app>_…`),
   * its bundle copies and its log folder. Unique per suite.
   */
  name: string;
  /** Where Kafka comes from: `privateBroker({ port })`, `privateSecureBroker({ port })` (each app its own principal) or `givenBrokers()`. */
  kafka: KafkaSource;
  /** Variables every instance of every app gets (on top of the system's own). */
  env?: Record<string, string>;
  /** The PostgreSQL server the throw-away databases are created on (default `TEST_POSTGRES_URL`). */
  postgresUrl?: string;
  /** First HTTP port; instances get consecutive ports in start order (default: free ports from the OS). */
  ports?: number;
  /** Deadline for each instance's `/health` (everything up; default 90 s). */
  readyTimeoutMs?: number;
  /**
   * Abandons setting up (a command-line run interrupted with Ctrl-C): checked
   * between the steps, after which what was started is released and
   * `startSystem` rejects.
   */
  signal?: AbortSignal;
}

/** How one app of a system of processes runs. */
export interface ProcessAppSpec {
  /** How many instances to start with (default 1; 0 starts none, e.g. to add them later). */
  instances?: number;
  /** Variables of this app's instances. */
  env?: Record<string, string>;
  /** A bundle to run instead of building the app (e.g. built once for several systems). */
  bundle?: string;
}

export interface ProcessSystemOptions extends CommonOptions {
  /** The apps, each as its own processes: a number of instances, or a spec. Bundles are built with `nest build` and copied aside. */
  processes: Partial<Record<AppName, number | ProcessAppSpec>>;
  /** Where `stop()` writes each instance's output, `<name>.log` (default `.local/logs/<system name>`; false: nowhere). */
  logDir?: string | false;
}

export interface InProcessSystemOptions extends CommonOptions {
  /**
   * The apps, booted in this process (one running instance each: they share
   * `process.env`), with their variables and what their start waits for
   * (`readyPath`, default `/health`).
   */
  inProcess: Partial<Record<AppName, AppModule & Pick<InProcessAppOptions, 'env' | 'readyPath'>>>;
}

/** The three apps (or some), their Kafka and their databases, started for one suite. */
export interface System<I extends AppInstance> {
  readonly name: string;
  readonly kafka: KafkaUnderTest;
  /** Bootstrap addresses of `kafka`. */
  readonly brokers: string[];
  /** Every instance started so far, running or not, of one app (or all), in start order. */
  instances(app?: AppName): I[];
  /** Instance `index` (from 0, in start order) of `app`. */
  instance(app: AppName, index?: number): I;
  /** An HTTP client of the first running instance of `app`. */
  http(app: AppName): HttpClient;
  /**
   * Starts one more instance of `app` on a port of its own, with the app's
   * variables plus `env`; resolves once it is ready. In process, only once the
   * app's earlier instance stopped (e.g. to restart an app with other settings).
   */
  addInstance(app: AppName, options?: { env?: Record<string, string>; nodeArgs?: string[] }): Promise<I>;
  /** URL of the app's throw-away database. */
  databaseUrl(app: AppName): string;
  /** A pool on the app's database, to read (or break) what the app did; closed by `stop()`. */
  sql(app: AppName): Pool;
  /** Records `topics` of the system's Kafka from the beginning; resolves once joined; stopped by `stop()`. */
  record(topics: string[]): Promise<TopicRecorder>;
  /** Puts events on the system's Kafka as the relay does (`headers: false`: as typed by hand); closed by `stop()`. */
  producer(options?: { headers?: boolean }): EventProducer;
  /**
   * Releases everything: stops its recorders and producers, the instances (gracefully, SIGKILL after 10 s),
   * writes their logs, closes the pools, stops the private broker, drops the
   * databases, restores `process.env`. Safe to call twice; `startSystem` calls
   * it itself when setting up fails halfway.
   */
  stop(): Promise<void>;
}

/**
 * Starts a system for a suite: a Kafka (private broker, or given brokers), a
 * throw-away database per app, and the apps — each as N processes of its own
 * (`processes`; what `nest start` runs, from a bundle copied aside) or booted
 * in this process (`inProcess`; for tests that reach into an app). Resolves
 * once every instance answers `/health` (everything up). Whatever was started is
 * released when setting up fails, and by `stop()`.
 */
export function startSystem(options: ProcessSystemOptions): Promise<System<AppProcess>>;
export function startSystem(options: InProcessSystemOptions): Promise<System<InProcessApp>>;
export async function startSystem(options: ProcessSystemOptions | InProcessSystemOptions): Promise<System<AppInstance>> {
  const specs = 'processes' in options ? processSpecs(options.processes) : inProcessSpecs(options.inProcess);
  const apps = Apps.filter((app) => specs[app]);
  const savedEnv = { ...process.env };
  const databases = new Map<AppName, TestDatabase>();
  const pools = new Map<AppName, Pool>();
  const bundles = new Map<AppName, string>();
  const instances: AppInstance[] = [];
  const clients: { stop(): Promise<void> }[] = [];
  const counts = new Map<AppName, number>();
  const nextPort = portAllocator(options.ports);
  let kafka: KafkaUnderTest | undefined;
  let stopping: Promise<void> | undefined;

  const stop = () =>
    (stopping ??= (async () => {
      const errors: unknown[] = [];
      const attempt = async (step: Promise<unknown>) => step.catch((error: unknown) => void errors.push(error));
      await Promise.all(clients.map((client) => attempt(client.stop())));
      // In-process apps share the process: closed one after the other, last started first.
      if ('inProcess' in options) for (const instance of [...instances].reverse()) await attempt(instance.stop());
      else await Promise.all(instances.map((instance) => attempt(instance.stop())));
      if ('processes' in options && options.logDir !== false) await attempt(writeLogs(options.logDir ?? join(REPO_ROOT, '.local', 'logs', options.name)));
      await Promise.all([...pools.values()].map((pool) => attempt(pool.end())));
      await Promise.all([kafka && attempt(kafka.stop()), ...[...databases.values()].map((db) => attempt(db.drop()))]);
      if ('inProcess' in options) restoreEnv(savedEnv);
      if (errors.length > 0)
        throw errors.length === 1 ? errors[0] : new AggregateError(errors, `stopping system ${options.name} failed ${errors.length} times`);
    })());

  const writeLogs = async (dir: string) => {
    mkdirSync(dir, { recursive: true });
    for (const instance of instances) if (instance instanceof AppProcess) writeFileSync(join(dir, `${instance.name}.log`), instance.lines.join('\n') + '\n');
  };

  /** The variables every instance of `app` gets: the system's, the suite's, the app's. */
  const envOf = (app: AppName): Record<string, string> => ({
    KAFKA_BROKERS: kafka!.brokers.join(','),
    ...kafka!.appEnv?.(app),
    ...Object.fromEntries(apps.map((a) => [databaseVariable(a), databases.get(a)!.url])),
    ...options.env,
    ...specs[app]!.env,
  });

  const instancesOf = (app?: AppName) => instances.filter((i) => app === undefined || i.app === app);

  const addInstance = async (app: AppName, extra: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<AppInstance> => {
    const spec = specs[app];
    if (!spec) throw new Error(`${app} is not part of system ${options.name}`);
    if (stopping) throw new Error(`system ${options.name} is stopping`);
    const count = (counts.get(app) ?? 0) + 1; // taken before any await: instances added at once get distinct names
    counts.set(app, count);
    if ('inProcess' in options && instancesOf(app).some((i) => i.running))
      throw new Error(`in-process systems run one instance per app at a time (they share process.env); stop ${app}'s first, or run ${app} as processes`);
    const name = `${app}-${count}`;
    const env = { ...envOf(app), ...extra.env };
    const port = 'processes' in options || options.ports !== undefined ? await nextPort() : 0;
    const instance: AppInstance =
      'processes' in options
        ? new AppProcess({ app, name, bundle: bundles.get(app), port, env, nodeArgs: extra.nodeArgs, readyTimeoutMs: options.readyTimeoutMs })
        : new InProcessApp({ ...spec.module!, name, env, port, readyTimeoutMs: options.readyTimeoutMs, readyPath: spec.readyPath });
    instances.push(instance);
    await instance.start();
    return instance;
  };

  try {
    // Each resource is kept as soon as it exists, so that stop() releases it even when another one failed.
    const setup = await Promise.allSettled([
      options.kafka.start(options.name).then((started) => (kafka = started)),
      ...apps.map((app) => createTestDatabase(`${options.name}_${app}`, options.postgresUrl ?? TEST_POSTGRES_URL).then((db) => databases.set(app, db))),
      (async () => {
        if (!('processes' in options)) return;
        // One after the other: parallel webpack runs on a small machine only fight for the CPU.
        for (const app of apps) {
          options.signal?.throwIfAborted();
          bundles.set(app, specs[app]!.bundle ?? (await buildBundle(app, options.name)));
        }
      })(),
    ]);
    const failed = setup.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    options.signal?.throwIfAborted();
    for (const app of apps) {
      const pool = new Pool({ connectionString: databases.get(app)!.url, max: 4 });
      // Idle connections die when a test stops PostgreSQL or the database is dropped; nothing to act on.
      pool.on('error', () => undefined);
      pools.set(app, pool);
    }
    const planned = apps.flatMap((app) => Array.from({ length: specs[app]!.instances }, () => app));
    if ('processes' in options) {
      // Settled, not raced: every instance has started (or failed) before a failure releases them all.
      const started = await Promise.allSettled(planned.map((app) => addInstance(app)));
      const refused = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (refused) throw refused.reason;
    } else for (const app of planned) await addInstance(app);
    options.signal?.throwIfAborted();
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  return {
    name: options.name,
    kafka: kafka!,
    brokers: kafka!.brokers,
    instances: instancesOf,
    instance: (app, index = 0) => {
      const found = instancesOf(app)[index];
      if (!found) throw new Error(`${options.name} has no instance ${index} of ${app}`);
      return found;
    },
    http: (app) => {
      const found = instancesOf(app).find((i) => i.running);
      if (!found) throw new Error(`no instance of ${app} is running in ${options.name}`);
      return httpClient(found);
    },
    addInstance,
    databaseUrl: (app) => databases.get(app)?.url ?? missing(app, options.name),
    sql: (app) => pools.get(app) ?? missing(app, options.name),
    record: async (topics) => {
      const recorder = await TopicRecorder.start(topics, kafka!.client ?? kafka!.brokers);
      clients.push(recorder);
      return recorder;
    },
    producer: (producerOptions) => {
      const producer = new EventProducer(kafka!.client ?? kafka!.brokers, producerOptions);
      clients.push({ stop: () => producer.close() });
      return producer;
    },
    stop,
  };
}

interface Spec {
  instances: number;
  env?: Record<string, string>;
  readyPath?: InProcessAppOptions['readyPath'];
  bundle?: string;
  module?: AppModule;
}

function processSpecs(processes: ProcessSystemOptions['processes']): Partial<Record<AppName, Spec>> {
  return Object.fromEntries(Object.entries(processes).map(([app, spec]) => [app, typeof spec === 'number' ? { instances: spec } : { instances: 1, ...spec }]));
}

function inProcessSpecs(inProcess: InProcessSystemOptions['inProcess']): Partial<Record<AppName, Spec>> {
  return Object.fromEntries(
    Object.entries(inProcess).map(([app, spec]) => {
      const { env, readyPath, ...module } = spec;
      if (module.definition.app !== app) throw new Error(`inProcess.${app} boots the ${module.definition.app} app`);
      return [app, { instances: 1, env, readyPath, module }];
    }),
  );
}

/** Puts `process.env` back as it was (in place: it is a special object). */
function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
}

function missing(app: AppName, system: string): never {
  throw new Error(`${app} is not part of system ${system}`);
}
