import { randomUUID } from 'node:crypto';
import { EventEnvelope, EventHeaders, EventTypes, InvalidEventError, parseEvent } from '@lib/events';
import { DurableProducer } from '@lib/kafka';
import { eventually, orderCreated, startPrivateKafka, TopicRecorder, uniqueName } from '@lib/testing';
import { Client } from 'pg';
import { OutboxEventPublisher, OutboxRelay, OutboxRelayOptions, OutboxWriter } from '../src';
import {
  AckLog,
  createOutboxDatabase,
  createUniqueTopic,
  decodeRow,
  insertRows,
  MAIN_BROKERS,
  MemoryLogger,
  muteExpectedKafkaJsErrors,
  testRow,
} from './outbox-test-kit';

jest.setTimeout(90_000);
muteExpectedKafkaJsErrors();

/** A database, a relay on it and the things to stop afterwards. */
async function setUp(prefix: string, options: Partial<OutboxRelayOptions> = {}, brokers: string[] = MAIN_BROKERS) {
  const db = await createOutboxDatabase(prefix);
  const producer = new DurableProducer({ brokers, clientId: uniqueName('outbox-test') });
  const acks = new AckLog(producer);
  const logger = new MemoryLogger((message) => acks.mark(`error: ${message}`));
  const relay = new OutboxRelay({ connectionString: db.url, publisher: acks, pollIntervalMs: 200, logger, ...options });
  return { db, producer, acks, logger, relay };
}

describe('OutboxWriter and OutboxRelay against the real broker and database', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((e) => console.error(e));
  });

  it('publishes nothing for a transaction that rolls back, and a committed event exactly once with its key, headers and envelope', async () => {
    // OutboxWriter publishes to the topic named after the event type: a broker of
    // this test's own keeps that order.created away from apps on the main broker.
    const kafka = await startPrivateKafka('outbox-writer', 29792, 1);
    cleanups.push(() => kafka.stop());
    const { db, producer, relay } = await setUp('outbox_commit', {}, kafka.brokers);
    cleanups.push(
      () => db.drop(),
      () => producer.disconnect(),
      () => relay.stop(),
    );
    const recorder = await TopicRecorder.start([EventTypes.OrderCreated], kafka.brokers);
    cleanups.push(() => recorder.stop());
    const writer = new OutboxWriter();
    relay.start();

    const rolledBack = orderCreated();
    await expect(
      db.dataSource.transaction(async (tx) => {
        await writer.write(tx, rolledBack);
        throw new Error('the use case failed after writing its event');
      }),
    ).rejects.toThrow('the use case failed');

    const committed = orderCreated();
    await db.dataSource.transaction((tx) => writer.write(tx, committed));

    const [message] = await recorder.waitFor(1, (m) => m.headers[EventHeaders.EventId] === committed.id);
    await eventually(async () => (await relay.backlog()).pending === 0, { what: 'outbox drained' });

    expect(message.key?.toString('utf8')).toBe(committed.data.orderId);
    expect(message.headers).toMatchObject({
      [EventHeaders.EventId]: committed.id,
      [EventHeaders.EventType]: 'order.created',
      [EventHeaders.EventVersion]: '1',
      [EventHeaders.CorrelationId]: committed.correlationId,
    });
    const parsed = parseEvent(message.value);
    expect(parsed).toEqual({ ok: true, event: committed });

    // The relay sent one message in all (the rolled-back one never existed for
    // it), and the committed one was deleted once acknowledged, so it cannot go twice.
    expect(relay.stats().publishedTotal).toBe(1);
    expect(recorder.messages.filter((m) => m.headers[EventHeaders.EventId] === committed.id)).toHaveLength(1);
    expect(recorder.messages.some((m) => m.headers[EventHeaders.EventId] === rolledBack.id)).toBe(false);
    expect(await db.dataSource.query(`SELECT id FROM outbox`)).toEqual([]);
  });

  it('publishes a row that commits after a row with a larger id (nothing skipped)', async () => {
    const { db, producer, acks, relay } = await setUp('outbox_commit_order');
    cleanups.push(
      () => db.drop(),
      () => producer.disconnect(),
      () => relay.stop(),
    );
    const topic = await createUniqueTopic('commit-order');
    const recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    cleanups.push(() => recorder.stop());
    relay.start();

    const first = testRow(randomUUID(), 0);
    const second = testRow(randomUUID(), 0);
    const slow: Client = await db.sql();
    const fast: Client = await db.sql();
    await slow.query('BEGIN');
    const [firstId] = await insertRows(slow, topic, [first]);
    await fast.query('BEGIN');
    const [secondId] = await insertRows(fast, topic, [second]);
    await fast.query('COMMIT');
    expect(BigInt(firstId)).toBeLessThan(BigInt(secondId));

    // The larger id is published while the smaller one is still uncommitted:
    // a relay reading "id > last published id" would now never look back.
    await recorder.waitFor(1, (m) => decodeRow(m.value).id === second.eventId);
    await eventually(() => acks.position(second.eventId) >= 0, { what: 'second row acknowledged' });
    expect(acks.position(first.eventId)).toBe(-1);

    await slow.query('COMMIT');
    await recorder.waitFor(1, (m) => decodeRow(m.value).id === first.eventId);
    expect(recorder.messages.map((m) => decodeRow(m.value).id)).toEqual([second.eventId, first.eventId]);
  });

  it('refuses a schema-invalid event with InvalidEventError and the enclosing transaction does not commit', async () => {
    const db = await createOutboxDatabase('outbox_invalid');
    cleanups.push(() => db.drop());
    await db.dataSource.query(`CREATE TABLE orders (id uuid PRIMARY KEY)`);
    const writer = new OutboxWriter();
    const valid = orderCreated();
    // A producer bug: a lower-case currency and a quantity of 0 break the contract.
    const invalid = { ...valid, data: { ...valid.data, currency: 'eur', items: [{ sku: 'MUG-350ML', quantity: 0, unitPrice: 899 }] } };

    const attempt = db.dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO orders (id) VALUES ($1)`, [valid.data.orderId]);
      await writer.write(tx, invalid as EventEnvelope);
    });

    await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
    const error = (await attempt.catch((e: unknown) => e)) as InvalidEventError;
    expect(error.code).toBe('INVALID_EVENT');
    expect(error.violations).toEqual(expect.arrayContaining([expect.stringContaining('data.currency'), expect.stringContaining('data.items[0].quantity')]));
    expect(await db.dataSource.query(`SELECT id FROM orders`)).toEqual([]);
    expect(await db.dataSource.query(`SELECT id FROM outbox`)).toEqual([]);
  });

  it('publishes through the EventPublisher port with its app as source, the given correlation and causation, and topic and key from the contract', async () => {
    const db = await createOutboxDatabase('outbox_publisher');
    cleanups.push(() => db.drop());
    const events = new OutboxEventPublisher('payment');
    const orderId = randomUUID();
    const cause = { correlationId: `corr-${randomUUID()}`, causationId: randomUUID() };

    const published = await db.dataSource.transaction((tx) =>
      events.publish(tx, EventTypes.PaymentFailed, { orderId, paymentId: randomUUID(), amount: 100, currency: 'EUR', reason: 'limit_exceeded' }, cause),
    );

    expect(published).toMatchObject({ type: 'payment.failed', version: 1, source: 'payment', ...cause, data: { orderId } });
    const rows = await db.dataSource.query(`SELECT event_id, event_type, topic, message_key, payload::text AS payload, headers FROM outbox`);
    expect(rows).toEqual([
      {
        event_id: published.id,
        event_type: 'payment.failed',
        topic: 'payment.failed',
        message_key: orderId,
        payload: JSON.stringify(published),
        headers: {
          [EventHeaders.EventId]: published.id,
          [EventHeaders.EventType]: 'payment.failed',
          [EventHeaders.EventVersion]: '1',
          [EventHeaders.CorrelationId]: cause.correlationId,
        },
      },
    ]);
    // An HTTP request causes events without a causation id.
    const fromRequest = await db.dataSource.transaction((tx) =>
      events.publish(tx, EventTypes.PaymentCompleted, { orderId, paymentId: randomUUID(), amount: 100, currency: 'EUR' }, { correlationId: 'req-1' }),
    );
    expect(fromRequest).toMatchObject({ correlationId: 'req-1', causationId: null });
  });

  it('writes a statement-composed event only when its condition holds, and a condition takes one event only', async () => {
    const db = await createOutboxDatabase('outbox_only_if');
    cleanups.push(() => db.drop());
    const events = new OutboxEventPublisher('payment');
    const data = { orderId: randomUUID(), paymentId: randomUUID(), amount: 100, currency: 'EUR' };
    const written: string[] = [];
    for (const holds of [false, true]) {
      const { event, sql, parameters } = events.publishStatement(EventTypes.PaymentCompleted, data, { correlationId: 'c' }, 2, `$1::boolean`);
      await db.dataSource.query(sql, [holds, ...parameters]);
      if (holds) written.push(event.id);
    }
    expect((await db.dataSource.query(`SELECT event_id FROM outbox`)).map((r: { event_id: string }) => r.event_id)).toEqual(written);
    expect(() => new OutboxWriter().insertFor([orderCreated(), orderCreated()], 1, {}, 'true')).toThrow(/one event/);
  });

  it('refuses to write outside a transaction, so an event can never commit apart from its state change', async () => {
    const db = await createOutboxDatabase('outbox_no_tx');
    cleanups.push(() => db.drop());

    await expect(new OutboxWriter().write(db.dataSource.manager, orderCreated())).rejects.toThrow(/open transaction/);
    expect(await db.dataSource.query(`SELECT id FROM outbox`)).toEqual([]);
  });

  it('backs off while the broker is unreachable instead of retrying at every commit, and blames no row', async () => {
    const db = await createOutboxDatabase('outbox_backoff');
    cleanups.push(() => db.drop());
    let sends = 0;
    const unreachable = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { name: 'KafkaJSConnectionError' });
    const relay = new OutboxRelay({
      connectionString: db.url,
      publisher: {
        send: async () => {
          sends++;
          throw unreachable;
        },
      },
      initialBackoffMs: 400,
      maxBackoffMs: 400,
      logger: new MemoryLogger(),
    });
    cleanups.push(() => relay.stop());
    relay.start();
    const topic = uniqueName('test.outbox.unreachable'); // never reaches a broker
    const client = await db.sql();
    const started = Date.now();
    let written = 0;
    const writer = (async () => {
      for (; written < 100; written++) {
        await insertRows(client, topic, [testRow(randomUUID(), 0)]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await writer;
    const elapsed = Date.now() - started;

    // Backoff is 200–400 ms with jitter; a commit must not end it early
    // (100 commits would otherwise mean about 100 attempts).
    expect(sends).toBeGreaterThanOrEqual(2);
    expect(sends).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
    expect(relay.stats().lastError).toContain('ECONNREFUSED');
    const [{ blamed }] = await db.dataSource.query(`SELECT count(*)::int AS blamed FROM outbox WHERE attempts > 0 OR parked_at IS NOT NULL`);
    expect(blamed).toBe(0);
    expect((await relay.backlog()).pending).toBe(100);
  });

  it('parks a row the broker keeps refusing after maxAttempts, holds back its key meanwhile, and publishes the rows of other keys behind it', async () => {
    const batchSize = 20;
    const { db, producer, acks, logger, relay } = await setUp('outbox_poison', {
      batchSize,
      maxAttempts: 3,
      initialBackoffMs: 1000,
      maxBackoffMs: 2000,
    });
    cleanups.push(
      () => db.drop(),
      () => producer.disconnect(),
      () => relay.stop(),
    );
    const topic = await createUniqueTopic('poison');
    const recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    cleanups.push(() => recorder.stop());

    // Larger than the broker's max.message.bytes (1 MiB by default): refused every time.
    const poisonKey = randomUUID();
    const poison = testRow(poisonKey, 0, 'x'.repeat(1_200_000));
    // More rows of the poisoned key than one batch holds, then rows of other keys.
    const sameKey = Array.from({ length: batchSize * 2 }, (_, i) => testRow(poisonKey, i + 1));
    const otherKeys = Array.from({ length: 10 }, () => testRow(randomUUID(), 0));
    const client = await db.sql();
    await insertRows(client, topic, [poison, ...sameKey, ...otherKeys]);
    relay.start();

    await recorder.waitFor(sameKey.length + otherKeys.length, () => true, 60_000);
    await eventually(async () => (await relay.backlog()).pending === 0, { what: 'outbox drained' });

    const [row] = await db.dataSource.query(`SELECT attempts, parked_at, last_error FROM outbox WHERE event_id = $1`, [poison.eventId]);
    expect(row.attempts).toBe(3);
    expect(row.parked_at).not.toBeNull();
    expect(row.last_error).toMatch(/too large|MESSAGE_TOO_LARGE|larger/i);
    expect(await relay.backlog()).toMatchObject({ pending: 0, parked: 1 });
    expect(relay.stats()).toMatchObject({ parkedTotal: 1, publishedTotal: sameKey.length + otherKeys.length });
    expect(logger.lines.filter((l) => l.level === 'error' && l.message.includes('parked'))).toHaveLength(1);

    // Other keys went while the poison row was still being retried ...
    const parkedAt = acks.markers.find((m) => m.label.includes('parked'))!.afterAcks;
    for (const other of otherKeys) expect(acks.position(other.eventId)).toBeLessThan(parkedAt);
    // ... while its own key waited behind it, and then went in order.
    for (const later of sameKey) expect(acks.position(later.eventId)).toBeGreaterThanOrEqual(parkedAt);
    const consumedSameKey = recorder.messages.map((m) => decodeRow(m.value)).filter((r) => r.key === poisonKey);
    expect(consumedSameKey.map((r) => r.seq)).toEqual(sameKey.map((r) => r.seq));
    expect(recorder.messages.some((m) => decodeRow(m.value).id === poison.eventId)).toBe(false);
  });
});
