import { Topics } from '@lib/events';
import { isPidAlive } from '@lib/infra';
import { describePartitions } from '@lib/kafka';
import { eventually, InProcessApp, privateCluster, startSystem, System, TEST_POSTGRES_URL } from '@lib/testing';
import { Client } from 'pg';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(240_000);

/** Node i listens on 28492 + 2(i-1) for clients and the next port as controller. */
const BASE_PORT = 28492;

async function databaseExists(url: string): Promise<boolean> {
  const client = new Client({ connectionString: `${TEST_POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    return (await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [new URL(url).pathname.slice(1)])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/**
 * The toolkit's cluster source (privateCluster): what a fault suite stands on
 * when it kills brokers. The three apps, one instance each, on a private
 * three-node KRaft cluster.
 */
describe('startSystem on a private three-node Kafka cluster', () => {
  let system: System<InProcessApp> | undefined;

  afterAll(async () => {
    await system?.stop();
  }, 90_000);

  it('runs the apps on the three nodes with the contract topics replicated three times, settles an order, and stop() releases nodes and databases', async () => {
    system = await startSystem({
      name: 'e2e-cluster-source',
      kafka: privateCluster({ basePort: BASE_PORT, nodes: 3 }),
      inProcess: ALL_APPS,
      env: { LOG_LEVEL: 'error' },
    });
    expect(system.brokers).toEqual(['127.0.0.1:28492', '127.0.0.1:28494', '127.0.0.1:28496']);
    expect(system.kafka.cluster?.replication).toEqual({ replicationFactor: 3, minInSyncReplicas: 2 });
    const partitions = await describePartitions({ brokers: system.brokers, clientId: 'cluster-source-e2e' }, [Topics.OrderCreated]);
    expect(partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3]);

    const { body: order } = await system
      .http('order')
      .post('/orders')
      .send({ customerId: 'cluster', currency: 'EUR', items: [{ sku: 'CLUSTER', quantity: 2, unitPrice: 1250 }] })
      .expect(201);
    await eventually(async () => (await system!.http('order').get(`/orders/${order.id}`)).body.status, {
      accept: (status) => status === 'CONFIRMED',
      timeoutMs: 60_000,
      what: 'order confirmed',
    });
    await eventually(async () => (await system!.http('notification').get('/notifications').query({ orderId: order.id })).body.items, {
      accept: (items: { eventType: string }[]) => items.some((n) => n.eventType === Topics.OrderConfirmed),
      what: 'confirmation notified',
    });

    const pids = system.kafka.nodes.map((node) => node.pid());
    expect(pids.every((pid) => pid !== undefined && isPidAlive(pid))).toBe(true);
    const databases = (['order', 'payment', 'notification'] as const).map((app) => system!.databaseUrl(app));
    await system.stop();
    expect(system.kafka.nodes.map((node) => node.isRunning())).toEqual([false, false, false]);
    expect(pids.filter((pid) => isPidAlive(pid!))).toEqual([]);
    expect(await Promise.all(databases.map(databaseExists))).toEqual([false, false, false]);
    expect(system.instances().map((instance) => instance.running)).toEqual([false, false, false]);
  });
});
