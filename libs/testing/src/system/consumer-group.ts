import { AppName } from '@lib/events';
import { AppProcess } from '@lib/infra';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually } from '../eventually';
import { EventProducer } from '../event-producer';
import { orderCreated } from '../event-factories';
import { TcpProxy } from '../tcp-proxy';
import { ProcessSystemOptions, startSystem, System } from './start-system';

/**
 * Starts one more instance of `app` that reaches its database through a TCP
 * proxy of its own, so that a test can cut that one instance off (`blackhole()`,
 * `heal()`); the caller stops the proxy after the system.
 */
export async function addInstanceBehindDatabaseProxy(system: System<AppProcess>, app: AppName): Promise<{ instance: AppProcess; proxy: TcpProxy }> {
  const database = new URL(system.databaseUrl(app));
  const proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
  const instance = await system.addInstance(app, { env: { [`${app.toUpperCase()}_DATABASE_URL`]: proxy.proxied(system.databaseUrl(app)) } });
  return { instance, proxy };
}

/** A system of processes in which each instance of one app reaches its database through a proxy of its own. */
export interface SystemWithProxiedInstances {
  system: System<AppProcess>;
  /** One per instance, in the order the instances were started. */
  proxies: TcpProxy[];
  /** Resumes paused instances, heals the proxies, stops the system, then the proxies. */
  stop(): Promise<void>;
}

/**
 * Starts `options`' system with `instances` instances of `app`, each behind
 * a database proxy of its own ({@link addInstanceBehindDatabaseProxy}), one
 * after the other: the first one started becomes its outbox relay's leader.
 */
export async function startSystemWithProxiedInstances(options: ProcessSystemOptions, app: AppName, instances: number): Promise<SystemWithProxiedInstances> {
  const system = await startSystem({ ...options, processes: { ...options.processes, [app]: { instances: 0 } } });
  const proxies: TcpProxy[] = [];
  for (let i = 0; i < instances; i++) proxies.push((await addInstanceBehindDatabaseProxy(system, app)).proxy);
  return {
    system,
    proxies,
    stop: async () => {
      for (const instance of system.instances()) if (instance.isPaused) instance.resume();
      for (const proxy of proxies) proxy.heal();
      await system.stop();
      await Promise.all(proxies.map((proxy) => proxy.stop()));
    },
  };
}

/** Whether every running instance of `app` says (GET /health) its consumer is a member of the group with partitions assigned. */
export async function consumersJoined(system: System<AppProcess>, app: AppName): Promise<boolean> {
  const states = await Promise.all(
    system
      .instances(app)
      .filter((instance) => instance.running)
      .map(async (instance) => {
        const body = (await (await fetch(`${instance.url}/health`)).json()) as { details?: { consumer?: { state?: string; assigned?: string[] } } };
        return body.details?.consumer;
      }),
  );
  return states.every((consumer) => consumer?.state === 'joined' && (consumer.assigned?.length ?? 0) > 0);
}

/** Waits until the consumers of every running instance of `app` have stayed joined for `stableMs`: no rebalance in progress. */
export async function waitForStableGroup(system: System<AppProcess>, app: AppName, stableMs: number, timeoutMs = 120_000): Promise<void> {
  let stableSince = Date.now();
  await eventually(
    async () => {
      if (!(await consumersJoined(system, app))) stableSince = Date.now();
      return Date.now() - stableSince;
    },
    { accept: (stable) => stable >= stableMs, timeoutMs, intervalMs: 500, what: `every ${app} consumer joined, the group stable for ${stableMs} ms` },
  );
}

/** A steady stream of `order.created` events, one every `intervalMs`, until `stop()`; `produced` maps each order id to when it was sent. */
export function steadyOrderLoad(producer: EventProducer, intervalMs: number): { produced: Map<string, number>; stop(): Promise<void> } {
  const produced = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const order = orderCreated();
      produced.set(order.data.orderId, Date.now());
      await producer.publish(order);
      await delay(intervalMs); // the pace of the load, not a wait for an outcome
    }
  })();
  return {
    produced,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
