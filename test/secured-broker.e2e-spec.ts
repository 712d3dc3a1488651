import { deadLetterTopic, Topics } from '@lib/events';
import { clientPropertiesFile, SecureBroker } from '@lib/infra';
import { topicEndOffset, tryJoin, tryWrite } from '@lib/kafka';
import { eventually, InProcessApp, privateSecureBroker, receiveWithConsoleConsumer, sendWithConsoleProducer, startSystem, System } from '@lib/testing';
import { ALL_APPS } from './support/all-apps';

jest.setTimeout(240_000);

/**
 * Issue 13, Done-when 1 and 2: the secured broker of `npm run infra:up --
 * --secure` (libs/infra's startSecureBroker: a SASL_SSL listener with a
 * throw-away CA, SCRAM-SHA-512 users created at format time, the
 * StandardAuthorizer with the per-app ACLs derived from the contract), here
 * private to this suite on port 28192 (controller 28193). Each app runs as its
 * own principal; the refusals are checked with kafkajs and with Kafka's own
 * console clients (bin/), each next to a control that the same principal is
 * allowed its own.
 */
describe('the secured broker: SASL_SSL, SCRAM-SHA-512 and per-app ACLs', () => {
  let system: System<InProcessApp>;
  let broker: SecureBroker;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-secured',
      kafka: privateSecureBroker({ port: 28192 }),
      inProcess: ALL_APPS,
      env: { LOG_LEVEL: 'warn', OUTBOX_POLL_INTERVAL_MS: '200' },
    });
    broker = system.kafka.secure!;
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const endOffset = (topic: string) => topicEndOffset(broker.connection('admin', 'e2e-admin'), topic);

  it('runs the saga with each app as its own principal: orders settle as on the plain broker (Done-when 1)', async () => {
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
    // Notification reads every topic it consumes: the ones of both outcomes (payment.failed, order.cancelled included).
    const notified = (orderId: string, types: string[]) =>
      eventually(
        async () =>
          (await system.sql('notification').query<{ event_type: string }>('SELECT DISTINCT event_type FROM notifications WHERE order_id = $1', [orderId])).rows
            .map((r) => r.event_type)
            .sort(),
        { accept: (found) => types.every((t) => found.includes(t)), what: `notifications ${types.join(', ')} of order ${orderId}` },
      );
    expect(await notified(paid.body.id, [Topics.OrderCreated, Topics.OrderConfirmed])).toEqual([Topics.OrderConfirmed, Topics.OrderCreated]);
    expect(await notified(declined.body.id, [Topics.OrderCreated, Topics.PaymentFailed, Topics.OrderCancelled])).toEqual([
      Topics.OrderCancelled,
      Topics.OrderCreated,
      Topics.PaymentFailed,
    ]);
    for (const app of ['order', 'payment', 'notification'] as const) {
      const health = await system.http(app).get('/health');
      expect({ app, status: health.status }).toEqual({ app, status: 200 });
    }
    for (const app of ['order', 'payment', 'notification'] as const)
      expect({ dlq: deadLetterTopic(app), messages: await endOffset(deadLetterTopic(app)) }).toEqual({ dlq: deadLetterTopic(app), messages: 0 });
  });

  it('refuses the payment principal writing order.confirmed, with kafkajs and with the console producer (Done-when 2)', async () => {
    const before = await endOffset(Topics.OrderConfirmed);
    expect(await tryWrite(broker.connection('payment'), Topics.OrderConfirmed, '{"forged":true}')).toBe('TOPIC_AUTHORIZATION_FAILED');
    // The control: the same principal may write its own topics.
    const dlqBefore = await endOffset(deadLetterTopic('payment'));
    expect(await tryWrite(broker.connection('payment'), deadLetterTopic('payment'), '{"control":true}')).toBe('allowed');

    const paymentConfig = clientPropertiesFile(broker.material, 'payment');
    const refused = await sendWithConsoleProducer(Topics.OrderConfirmed, ['{"forged":"console"}'], broker.brokers, { producerConfig: paymentConfig }).catch(
      (e: Error) => ({ output: e.message }),
    );
    expect(refused.output).toMatch(/TopicAuthorizationException: Not authorized to access topics: \[order\.confirmed\]/);
    expect(await endOffset(Topics.OrderConfirmed)).toBe(before);
    // The control: the console producer with the same config may write payment.dlq.
    const allowed = await sendWithConsoleProducer(deadLetterTopic('payment'), ['{"control":"console"}'], broker.brokers, { producerConfig: paymentConfig });
    expect(allowed.output).not.toMatch(/Exception/);
    expect(await endOffset(deadLetterTopic('payment'))).toBe(dlqBefore + 2);
  });

  it("refuses the payment principal reading with the order app's consumer group, with kafkajs and with the console consumer (Done-when 2)", async () => {
    // kafkajs reports a refused FindCoordinator (its GroupCoordinator, key 10) as KafkaJSGroupCoordinatorNotFound; tryJoin adds the broker's answer it logged.
    expect(await tryJoin(broker.connection('payment'), 'order', Topics.OrderCreated)).toMatch(
      /^KafkaJSGroupCoordinatorNotFound: Response GroupCoordinator\(key: 10, .*\): Not authorized to access group: Group authorization failed/,
    );
    const paymentConfig = clientPropertiesFile(broker.material, 'payment');
    const refused = await receiveWithConsoleConsumer(Topics.OrderCreated, { group: 'order', consumerConfig: paymentConfig }, broker.brokers);
    expect(refused.output).toMatch(/GroupAuthorizationException: Not authorized to access group: order/);
    // The control is the payment app itself: as this principal it joined the group `payment` (its /health is 200 above). Not joined here
    // as well: a member of the app's own group would take partitions, and messages, from it.
  });

  it('refuses a wrong password at authentication', async () => {
    const connection = broker.connection('order');
    expect(await tryWrite({ ...connection, sasl: { ...connection.sasl!, password: 'not-the-password' } }, deadLetterTopic('order'), 'x')).toBe(
      'KafkaJSSASLAuthenticationError',
    );
  });
});
