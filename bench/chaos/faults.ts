import { AppName, Apps, Topics } from '@lib/events';
import { AppProcess, PrivatePostgres, System } from '@lib/testing';
import { ChaosNetwork } from './network';
import { FaultName } from './options';
import { Random } from './random';

/** The group session timeout of the apps' consumers (CONSUMER_SESSION_TIMEOUT_MS's default, which chaos runs keep). */
export const SESSION_TIMEOUT_MS = 10_000;

/** One planned fault of a run's schedule. */
export interface PlannedFault {
  fault: FaultName;
  /** Seconds between the previous fault's recovery (or the start of the load) and this one. */
  gapS: number;
  /** Seconds the fault is held before it is healed. */
  holdS: number;
  /** What it hits, chosen by the seed (an app, an instance number), when chosen in advance. */
  app?: AppName;
  index?: number;
}

/** What a fault did, as it happened. */
export interface FaultRecord extends PlannedFault {
  /** What exactly was hit (instance names, broker node, leader, …). */
  target: string;
  /** Date.now() at injection, when healed (restarted, resumed), when recovered (every instance ready, nothing acknowledged before the heal still PENDING). */
  injectedAt: number;
  healedAt: number;
  recoveredAt?: number;
  error?: string;
}

export interface FaultContext {
  system: System<AppProcess>;
  /** The instances' proxies, when a network cut is scheduled. */
  network?: ChaosNetwork;
  postgres: PrivatePostgres;
  cluster: boolean;
  instances: number;
  log: (line: string) => void;
}

/** The seeded schedule: every selected fault once, in a seeded order, with seeded gaps and targets. */
export function planSchedule(faults: readonly FaultName[], seed: number, instances: number, holdS: number): PlannedFault[] {
  const random = new Random(seed);
  return random.shuffle(faults).map((fault) => ({
    fault,
    gapS: random.int(3, 8),
    holdS: fault === 'pause-instance' ? SESSION_TIMEOUT_MS / 1000 + 5 : fault === 'terminate-backends' ? 0 : fault.startsWith('cut-') ? holdS * 2 : holdS,
    app: random.pick(Apps),
    index: random.int(1, instances),
  }));
}

export function describePlanned(p: PlannedFault): string {
  const target = ['pause-instance', 'cut-db', 'cut-kafka'].includes(p.fault)
    ? ` ${p.app}-${p.index}`
    : ['term-app', 'terminate-backends'].includes(p.fault)
      ? ` ${p.app}`
      : '';
  return `+${p.gapS}s ${p.fault}${target}${p.holdS ? ` for ${p.holdS}s` : ''}`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Injects a planned fault, holds it (the fault's duration: the schedule, not a
 * wait for an outcome), heals it (restarts what it stopped) and returns what it
 * did. Restarts wait for readiness; a restart that fails is recorded as the
 * fault's error, and the run goes on.
 */
export async function inflict(planned: PlannedFault, ctx: FaultContext): Promise<Omit<FaultRecord, 'recoveredAt'>> {
  const { system } = ctx;
  const instance = (app: AppName, index: number) => system.instance(app, index - 1);
  const hold = () => delay(planned.holdS * 1000);
  let target = '';
  let injectedAt = Date.now();
  const record = (error?: string) => ({ ...planned, target, injectedAt, healedAt: Date.now(), error });
  const startAll = async (instances: AppProcess[]) => {
    const failed = (await Promise.allSettled(instances.map((i) => i.start()))).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message.split('\n')[0]).join('; '));
  };
  try {
    switch (planned.fault) {
      case 'kill-instances': {
        const random = new Random(planned.gapS * 7919 + planned.index! * 104729);
        const victims = Apps.map((app) => instance(app, random.int(1, ctx.instances)));
        target = victims.map((v) => v.name).join(', ');
        injectedAt = Date.now();
        await Promise.all(victims.map((v) => v.kill('SIGKILL')));
        await hold();
        await startAll(victims);
        return record();
      }
      case 'pause-instance': {
        const victim = instance(planned.app!, planned.index!);
        target = victim.name;
        injectedAt = Date.now();
        victim.pause();
        await hold();
        victim.resume();
        return record();
      }
      case 'term-app': {
        const victims = system.instances(planned.app!);
        target = `all ${victims.length} instances of ${planned.app}`;
        injectedAt = Date.now();
        await Promise.all(victims.map((v) => v.stop()));
        await hold();
        await startAll(victims);
        return record();
      }
      case 'kill-broker': {
        const nodes = system.kafka.nodes;
        const node = nodes[(planned.index! - 1) % nodes.length];
        target = `broker ${node.name}`;
        injectedAt = Date.now();
        await node.kill();
        await hold();
        await node.restart();
        return record();
      }
      case 'kill-leader': {
        const cluster = system.kafka.cluster;
        if (!cluster) {
          const node = system.kafka.nodes[0];
          target = `broker ${node.name} (the only one)`;
          injectedAt = Date.now();
          await node.kill();
          await hold();
          await node.restart();
          return record();
        }
        // The leader of an order.created partition, then (once it is back) the active controller.
        const partition = planned.index! % 3;
        const leader = cluster.node(await cluster.partitionLeader(Topics.OrderCreated, partition));
        target = `leader of ${Topics.OrderCreated}-${partition}: ${leader.name}`;
        injectedAt = Date.now();
        await leader.kill();
        await hold();
        await leader.restart();
        const controller = cluster.node(await cluster.activeController());
        target += `, then the active controller: ${controller.name}`;
        await controller.kill();
        await hold();
        await controller.restart();
        return record();
      }
      case 'pause-broker': {
        const nodes = system.kafka.nodes;
        const node = nodes[(planned.index! - 1) % nodes.length];
        target = `broker ${node.name}`;
        injectedAt = Date.now();
        node.pause();
        await hold();
        node.resume();
        return record();
      }
      case 'restart-postgres': {
        target = 'the run’s PostgreSQL server';
        injectedAt = Date.now();
        await ctx.postgres.stop();
        await hold();
        await ctx.postgres.start();
        return record();
      }
      case 'terminate-backends': {
        const database = new URL(system.databaseUrl(planned.app!)).pathname.slice(1);
        injectedAt = Date.now();
        const { rows } = await system
          .sql(planned.app!)
          .query<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
            database,
          ]);
        target = `${rows[0].n} connections to ${planned.app}'s database`;
        return record();
      }
      case 'cut-db': {
        const victim = instance(planned.app!, planned.index!);
        const links = ctx.network!.of(victim.name);
        target = `${victim.name} ↔ PostgreSQL`;
        injectedAt = Date.now();
        links.postgres.blackhole();
        await hold();
        links.postgres.heal();
        return record();
      }
      case 'cut-kafka': {
        const victim = instance(planned.app!, planned.index!);
        const links = ctx.network!.of(victim.name);
        target = `${victim.name} ↔ Kafka`;
        injectedAt = Date.now();
        for (const proxy of links.kafka) proxy.blackhole();
        await hold();
        for (const proxy of links.kafka) proxy.heal();
        return record();
      }
    }
  } catch (error) {
    ctx.log(`    ${planned.fault} failed: ${(error as Error).message.split('\n')[0]}`);
    return record((error as Error).message.split('\n')[0]);
  }
}
