import { Topics } from '@lib/events';
import { clientPropertiesFile, SecureBroker, startSecureBroker } from '@lib/infra';
import { topicEndOffset, tryJoin, tryWrite } from '@lib/kafka';
import { eventually, InProcessApp, sendWithConsoleProducer, startSystem, System } from '@lib/testing';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(180_000);

/**
 * Issue 13, Done-when 1 and 2: the secured local broker of
 * `npm run infra:up -- --secure` (libs/infra's startSecureBroker: SASL_SSL,
 * SCRAM-SHA-512 users created at format time, the StandardAuthorizer with
 * per-app ACLs), here on a private port.
 */
describe('the secured broker: SASL_SSL, SCRAM-SHA-512 and per-app ACLs', () => {
  let broker: SecureBroker;
  let system: System<InProcessApp> | undefined;

  beforeAll(async () => {
    broker = await startSecureBroker({ name: 'e2e-secured', port: 28192, fresh: true, partitions: 3, log: () => undefined });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await broker?.stop();
  }, 60_000);

  const endOffset = (topic: string) => topicEndOffset(broker.connection('admin', 'e2e-admin'), topic);

  it('runs the saga with each app as its own principal: orders settle as on the plain broker (Done-when 1)', async () => {
    system = await startSystem({
      name: 'e2e-secured',
      kafka: { start: async () => ({ brokers: broker.brokers, nodes: [], stop: async () => undefined }) },
      inProcess: {
        order: { ...ALL_APPS.order, env: broker.appEnv('order') },
        payment: { ...ALL_APPS.payment, env: broker.appEnv('payment') },
        notification: { ...ALL_APPS.notification, env: broker.appEnv('notification') },
      },
      env: { LOG_LEVEL: 'warn', OUTBOX_POLL_INTERVAL_MS: '200' },
    });
    const http = system.http('order');
    const paid = await http
      .post('/orders')
      .send({ customerId: 'c-secured', currency: 'EUR', items: [{ sku: 'A', quantity: 1, unitPrice: 900 }] })
      .expect(201);
    const declined = await http
      .post('/orders')
      .send({ customerId: 'c-secured', currency: 'EUR', items: [{ sku: 'A', quantity: 1, unitPrice: 100_001 }] })
      .expect(201);
    await eventually(async () => (await http.get(`/orders/${paid.body.id}`)).body.status, { accept: (s) => s === 'CONFIRMED', what: 'order confirmed' });
    await eventually(async () => (await http.get(`/orders/${declined.body.id}`)).body.status, { accept: (s) => s === 'CANCELLED', what: 'order cancelled' });
    await eventually(async () => (await system!.sql('notification').query('SELECT 1 FROM notifications WHERE order_id = $1', [paid.body.id])).rowCount, {
      accept: (n) => (n ?? 0) > 0,
      what: 'customer notified',
    });
    for (const app of ['order', 'payment', 'notification'] as const) {
      const ready = await system.http(app).get('/health/ready');
      expect({ app, status: ready.status }).toEqual({ app, status: 200 });
    }
    expect(await endOffset('order.dlq')).toBe(0);
  });

  it("refuses the payment principal writing order.confirmed, with kafkajs and with Kafka's console producer (Done-when 2)", async () => {
    const before = await endOffset(Topics.OrderConfirmed);
    expect(await tryWrite(broker.connection('payment'), Topics.OrderConfirmed, '{"forged":true}')).toBe('TOPIC_AUTHORIZATION_FAILED');
    // The control: the same principal may write its own topics.
    expect(await tryWrite(broker.connection('payment'), 'payment.dlq', '{"control":true}')).toBe('allowed');

    const config = clientPropertiesFile(broker.material, 'payment');
    const { output } = await sendWithConsoleProducer(Topics.OrderConfirmed, ['{"forged":"console"}'], broker.brokers, { producerConfig: config }).catch(
      (e: Error) => ({ output: e.message }),
    );
    expect(output).toMatch(/TopicAuthorizationException|Not authorized to access topics: \[order\.confirmed\]/);
    expect(await endOffset(Topics.OrderConfirmed)).toBe(before);
  });

  it("refuses the payment principal reading with the order app's consumer group (Done-when 2)", async () => {
    expect(await tryJoin(broker.connection('payment'), 'order', Topics.OrderCreated)).toBe('GROUP_AUTHORIZATION_FAILED');
    // The control: with its own group it joins.
    expect(await tryJoin(broker.connection('payment'), 'payment', Topics.OrderCreated)).toBe('allowed');
  });

  it('refuses a wrong password at authentication', async () => {
    const connection = broker.connection('order');
    expect(await tryWrite({ ...connection, sasl: { ...connection.sasl!, password: 'not-the-password' } }, 'order.dlq', 'x')).toBe(
      'KafkaJSSASLAuthenticationError',
    );
  });
});
