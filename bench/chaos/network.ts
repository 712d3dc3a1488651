import { AppName, Apps } from '@lib/events';
import { freePort, TcpProxy } from '@lib/testing';

/** An app instance's own way to PostgreSQL and Kafka: proxies a fault can blackhole. */
export interface InstanceLinks {
  app: AppName;
  /** 1-based, as the toolkit names instances (`order-1`). */
  index: number;
  /** Proxy to the run's PostgreSQL server. */
  postgres: TcpProxy;
  /** One proxy per broker node, to that node's listener of this instance. */
  kafka: TcpProxy[];
}

/** What the broker side needs: one listener per instance on every node. */
interface ListenerPlan {
  /** Listener name, `I<k>`. */
  listener: string;
  app: AppName;
  index: number;
  /** Per node (by position): the port the broker listens on, and the proxy's port it advertises. */
  ports: { listen: number; advertised: number }[];
}

/**
 * The network of a chaos run. Each app instance reaches PostgreSQL and Kafka
 * through proxies of its own, so a fault can silently cut one instance off
 * without touching the others.
 *
 * Kafka clients connect to whatever address the broker advertises in its
 * metadata, so a plain proxy in front of the bootstrap port would be bypassed
 * after the first request. Instead every broker node gets one extra PLAINTEXT
 * listener per instance (`I<k>`), on a port of its own, advertising the
 * address of that instance's proxy. An instance bootstraps through its proxy,
 * its requests arrive on its listener, and the metadata it gets back names its
 * proxies for every node: all its Kafka traffic flows through them and
 * nothing is rewritten. The apps' own listener (PLAINTEXT) and the
 * controller's stay as they are, for the inter-broker traffic and the
 * checker.
 */
export class ChaosNetwork {
  private constructor(
    private readonly plans: ListenerPlan[],
    private readonly nodePorts: number[],
  ) {}

  private readonly links = new Map<string, InstanceLinks>();

  /** Plans the listeners of `instances` instances of every app on nodes with client ports `nodePorts` (controller: port + 1). */
  static async plan(instances: number, nodePorts: number[]): Promise<ChaosNetwork> {
    const plans: ListenerPlan[] = [];
    let k = 0;
    for (const app of Apps)
      for (let index = 1; index <= instances; index++) {
        k++;
        const ports = [];
        for (let n = 0; n < nodePorts.length; n++) ports.push({ listen: await freePort(), advertised: await freePort() });
        plans.push({ listener: `I${k}`, app, index, ports });
      }
    return new ChaosNetwork(plans, nodePorts);
  }

  /** server.properties entries of node `position` (0-based): its own listeners plus one per instance. */
  brokerProperties(position: number): Record<string, string> {
    const port = this.nodePorts[position];
    const extra = this.plans.map((p) => ({ name: p.listener, ...p.ports[position] }));
    return {
      listeners: [`PLAINTEXT://127.0.0.1:${port}`, `CONTROLLER://127.0.0.1:${port + 1}`, ...extra.map((e) => `${e.name}://127.0.0.1:${e.listen}`)].join(','),
      'advertised.listeners': [`PLAINTEXT://127.0.0.1:${port}`, ...extra.map((e) => `${e.name}://127.0.0.1:${e.advertised}`)].join(','),
      'listener.security.protocol.map': ['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT', ...extra.map((e) => `${e.name}:PLAINTEXT`)].join(','),
    };
  }

  /** Starts the proxies of one instance (once the brokers and PostgreSQL run) and returns the variables that route it through them. */
  async connect(app: AppName, index: number, postgresPort: number, databaseName: string): Promise<{ links: InstanceLinks; env: Record<string, string> }> {
    const plan = this.plans.find((p) => p.app === app && p.index === index);
    if (!plan) throw new Error(`no listener planned for ${app}-${index}`);
    const postgres = await TcpProxy.start({ host: '127.0.0.1', port: postgresPort });
    const kafka = await Promise.all(plan.ports.map((p) => TcpProxy.start({ host: '127.0.0.1', port: p.listen }, p.advertised)));
    const links: InstanceLinks = { app, index, postgres, kafka };
    this.links.set(`${app}-${index}`, links);
    return {
      links,
      env: {
        KAFKA_BROKERS: kafka.map((proxy) => `127.0.0.1:${proxy.port}`).join(','),
        [`${app.toUpperCase()}_DATABASE_URL`]: `postgres://postgres@127.0.0.1:${postgres.port}/${databaseName}`,
      },
    };
  }

  /** The links of instance `<app>-<index>`. */
  of(name: string): InstanceLinks {
    const links = this.links.get(name);
    if (!links) throw new Error(`no links for ${name}`);
    return links;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.links.values()].flatMap((l) => [l.postgres.stop(), ...l.kafka.map((k) => k.stop())]));
  }
}
