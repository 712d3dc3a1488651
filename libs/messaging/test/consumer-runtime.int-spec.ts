import { encodeEvent } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { DeadLetterHeaders } from '@lib/messaging';
import { createTestDatabase, eventually, orderCreated, sendWithConsoleProducer, TopicRecorder } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { replayDeadLetters } from '@lib/dead-letters';
import { connection, createRunTopics, deadLettersOf, TestDb, TestPublisher, testRun } from './support/kafka-test-kit';
import { migrateTestDatabase, startTestConsumer, TestConsumer } from './support/test-consumer';

/**
 * The consumer runtime of issue 4 against the real broker and PostgreSQL:
 * a Nest app with `@EventPattern` handlers on KafkaEventsTransport, its own
 * topics (a per-run prefix), its own database, and the shared `<app>.dlq`
 * topics filtered by this run's consumer group.
 */
jest.setTimeout(120_000);

const FIXTURES = path.resolve(__dirname, '..', '..', 'events', 'fixtures', 'invalid');
const MAX_ATTEMPTS = 4;

/** A fixture as one line, with a fresh event id so this run's messages are its own. */
function fixtureLine(name: string): string {
  const value = JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
  return JSON.stringify({ ...value, id: randomUUID() });
}

describe('KafkaEventsTransport on the real broker and database', () => {
  const run = testRun('runtime');
  const notificationGroup = `${run.group}-notification`;
  const orderCreatedTopic = run.topic('order.created');
  let payment: TestConsumer;
  let notification: TestConsumer;
  let paymentDb: TestDb;
  let notificationDb: TestDb;
  let dlq: TopicRecorder;
  let publisher: TestPublisher;
  const cleanup: (() => Promise<unknown>)[] = [];

  const counts = (c: TestConsumer) => c.transport.stats().counts[orderCreatedTopic] ?? { handled: 0, duplicate: 0, retried: 0, dead_lettered: 0 };
  const paymentDeadLetters = () => deadLettersOf(dlq.messages, run.group).filter((m) => m.topic === 'payment.dlq');

  beforeAll(async () => {
    await createRunTopics(run.prefix);
    const [pdb, ndb] = await Promise.all([createTestDatabase('messaging_payment'), createTestDatabase('messaging_notification')]);
    cleanup.push(
      () => pdb.drop(),
      () => ndb.drop(),
    );
    await Promise.all([migrateTestDatabase(pdb.url), migrateTestDatabase(ndb.url)]);
    paymentDb = new TestDb(pdb.url);
    notificationDb = new TestDb(ndb.url);
    cleanup.unshift(
      () => paymentDb.close(),
      () => notificationDb.close(),
    );

    dlq = await TopicRecorder.start(['payment.dlq', 'notification.dlq']);
    cleanup.unshift(() => dlq.stop());
    const common = {
      topicPrefix: run.prefix,
      maxAttempts: MAX_ATTEMPTS,
      retryBackoffMs: 1000,
      maxRetryBackoffMs: 4000,
      // Short session on purpose: the slow-handler test runs a handler for longer than this.
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      partitionsConsumedConcurrently: 3,
    };
    [payment, notification] = await Promise.all([
      startTestConsumer({ ...common, app: 'payment', groupId: run.group, databaseUrl: pdb.url }),
      startTestConsumer({ ...common, app: 'notification', groupId: notificationGroup, databaseUrl: ndb.url }),
    ]);
    cleanup.unshift(
      () => payment.close(),
      () => notification.close(),
    );
    publisher = new TestPublisher();
    cleanup.unshift(() => publisher.close());
  });

  afterAll(async () => {
    for (const step of cleanup) await step().catch((e: Error) => console.warn(`cleanup: ${e.message}`));
  });

  it('dead-letters every bad value typed into the console producer, with its error kind and coordinates, and handles the valid event typed after each', async () => {
    const valid = [orderCreated(), orderCreated(), orderCreated(), orderCreated()];
    const bad = [
      { line: 'not json', kind: 'not_json' },
      { line: '{"foo":1}', kind: 'not_envelope' },
      { line: fixtureLine('unknown-type.json'), kind: 'unknown_type' },
      { line: fixtureLine('invalid-order-created-data.json'), kind: 'invalid_data' },
    ];
    // Typed by hand: no key, no headers; each bad line followed by a valid event.
    await sendWithConsoleProducer(
      orderCreatedTopic,
      bad.flatMap((b, i) => [b.line, JSON.stringify(valid[i])]),
    );

    for (const [app, group] of [
      ['payment', run.group],
      ['notification', notificationGroup],
    ] as const) {
      const letters = await eventually(() => deadLettersOf(dlq.messages, group), {
        accept: (found) => found.length >= bad.length,
        timeoutMs: 30_000,
        what: `${bad.length} dead letters of ${group} in ${app}.dlq`,
      });
      expect(letters).toHaveLength(bad.length);
      for (const b of bad) {
        const letter = letters.find((m) => m.value?.toString('utf8') === b.line);
        expect(letter).toBeDefined();
        const h = letter!.headers;
        expect(letter!.topic).toBe(`${app}.dlq`);
        expect(h[DeadLetterHeaders.ErrorKind]).toBe(b.kind);
        expect(h[DeadLetterHeaders.OriginalTopic]).toBe(orderCreatedTopic);
        expect(h[DeadLetterHeaders.OriginalPartition]).toMatch(/^\d+$/);
        expect(h[DeadLetterHeaders.OriginalOffset]).toMatch(/^\d+$/);
        expect(h[DeadLetterHeaders.ConsumerGroup]).toBe(group);
        expect(h[DeadLetterHeaders.ErrorMessage]?.length).toBeGreaterThan(0);
        expect(new Date(h[DeadLetterHeaders.FailedAt]).toISOString()).toBe(h[DeadLetterHeaders.FailedAt]);
        expect(h[DeadLetterHeaders.Attempts]).toBe('0');
        // Typed without a key: there is no key to record, and the dead letter has none either.
        expect(h[DeadLetterHeaders.OriginalKey]).toBeUndefined();
        expect(letter!.key).toBeNull();
      }
    }
    for (const db of [paymentDb, notificationDb]) {
      for (const event of valid) {
        await eventually(() => db.effectsOf(event.id), { accept: (rows) => rows.length === 1, what: `effect of ${event.id}` });
      }
    }
    expect(counts(payment).dead_lettered).toBe(bad.length);
    expect(counts(notification).dead_lettered).toBe(bad.length);
  });

  it('handles a message with no key and no headers like any other', async () => {
    const event = orderCreated();
    await sendWithConsoleProducer(orderCreatedTopic, [JSON.stringify(event)]);
    const [effect] = await eventually(() => paymentDb.effectsOf(event.id), { accept: (rows) => rows.length === 1, what: 'effect' });
    expect(effect.order_id).toBe(event.data.orderId);
    const inbox = await paymentDb.rows<{ event_type: string; topic: string }>(`SELECT event_type, topic FROM inbox WHERE consumer = $1 AND event_id = $2`, [
      run.group,
      event.id,
    ]);
    expect(inbox).toEqual([{ event_type: 'order.created', topic: orderCreatedTopic }]);
  });

  it('has exactly one effect for an event delivered five times, and counts the other four as duplicates', async () => {
    const before = counts(payment);
    const event = orderCreated();
    for (let i = 0; i < 5; i++) await publisher.publish(orderCreatedTopic, event);

    await eventually(() => counts(payment), {
      accept: (c) => c.handled + c.duplicate - before.handled - before.duplicate >= 5,
      what: 'five deliveries handled',
    });
    const after = counts(payment);
    expect(after.handled - before.handled).toBe(1);
    expect(after.duplicate - before.duplicate).toBe(4);
    expect(await paymentDb.effectsOf(event.id)).toHaveLength(1);
    expect(await paymentDb.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1 AND event_id = $2`, [run.group, event.id])).toBe(1);
  });

  it('passes the consumed event’s correlation id, and its id as causation id, to the events a handler creates (ctx.causedBy())', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const event = orderCreated({}, { correlationId });
    await publisher.publish(orderCreatedTopic, event);
    const [effect] = await eventually(() => paymentDb.effectsOf(event.id), { accept: (rows) => rows.length === 1, what: 'effect' });
    expect(effect.follow_up).toMatchObject({ type: 'payment.completed', correlationId, causationId: event.id, data: { orderId: event.data.orderId } });
  });

  // Shared with the replay test below: the dead letter this test produces.
  let poisoned: { event: ReturnType<typeof orderCreated>; letter: ConsumedMessage } | undefined;

  it(`retries a handler that throws for one event ${MAX_ATTEMPTS} times, dead-letters it with that attempt count, while events of other keys keep flowing`, async () => {
    const poison = orderCreated();
    payment.behaviour.failing.add(poison.id);
    const poisonPartition = await publisher.publish(orderCreatedTopic, poison);
    // The next event of the same order must wait for the poison (per-key order).
    const sameKey = orderCreated({ orderId: poison.data.orderId });
    await publisher.publish(orderCreatedTopic, sameKey);
    await eventually(() => payment.behaviour.calls.get(poison.id) ?? 0, { accept: (n) => n >= 1, what: 'first failed attempt' });

    // While it is being retried, events of other keys — on other partitions — are sent and must be handled.
    const others: ReturnType<typeof orderCreated>[] = [];
    for (let i = 0; i < 40 && others.length < 3; i++) {
      const other = orderCreated();
      if ((await publisher.publish(orderCreatedTopic, other)) !== poisonPartition) others.push(other);
    }
    expect(others).toHaveLength(3);
    const handledOthers = await eventually(async () => (await Promise.all(others.map((o) => paymentDb.effectsOf(o.id)))).flat(), {
      accept: (rows) => rows.length === others.length,
      timeoutMs: 30_000,
      what: 'events of other keys handled',
    });

    const [letter] = await eventually(() => paymentDeadLetters().filter((m) => m.value?.equals(encodeEvent(poison))), {
      accept: (found) => found.length === 1,
      timeoutMs: 30_000,
      what: 'the poison event dead-lettered',
    });
    const failedAt = new Date(letter.headers[DeadLetterHeaders.FailedAt]);
    expect(letter.headers[DeadLetterHeaders.ErrorKind]).toBe('handler_error');
    expect(letter.headers[DeadLetterHeaders.Attempts]).toBe(String(MAX_ATTEMPTS));
    expect(letter.headers[DeadLetterHeaders.ErrorMessage]).toContain(`refuses event ${poison.id}`);
    expect(letter.headers[DeadLetterHeaders.OriginalKey]).toBe(poison.data.orderId);
    expect(letter.key?.toString('utf8')).toBe(poison.data.orderId);
    expect(letter.headers['event-id']).toBe(poison.id); // the original headers travel along
    expect(payment.behaviour.calls.get(poison.id)).toBe(MAX_ATTEMPTS);
    expect(await paymentDb.effectsOf(poison.id)).toHaveLength(0);
    // "Meanwhile": every other-key event committed before the poison gave up.
    for (const row of handledOthers) expect(row.handled_at.getTime()).toBeLessThan(failedAt.getTime());
    // The same order's next event waited for it.
    const [next] = await eventually(() => paymentDb.effectsOf(sameKey.id), { accept: (rows) => rows.length === 1, what: 'same-key event handled' });
    expect(next.handled_at.getTime()).toBeGreaterThanOrEqual(failedAt.getTime() - 1000);
    poisoned = { event: poison, letter };
  });

  it('handles a dead letter replayed with the dlq tool once its cause is fixed, exactly once even when replayed again', async () => {
    expect(poisoned).toBeDefined();
    const { event } = poisoned!;
    payment.behaviour.failing.delete(event.id); // the fix

    const lines: string[] = [];
    const first = await replayDeadLetters(connection('test-dlq-replay'), 'payment', { id: event.id }, { group: run.group, log: (l) => lines.push(l) });
    expect(first.replayed.map((r) => r.eventId)).toEqual([event.id]);
    expect(lines.join('\n')).toContain(`replayed payment.dlq/`);
    const [effect] = await eventually(() => paymentDb.effectsOf(event.id), { accept: (rows) => rows.length === 1, what: 'replayed event handled' });
    expect(effect.attempt).toBe(1);

    const before = counts(payment);
    await replayDeadLetters(connection('test-dlq-replay'), 'payment', { id: event.id }, { group: run.group });
    await eventually(() => counts(payment).duplicate, { accept: (n) => n === before.duplicate + 1, what: 'second replay counted as duplicate' });
    expect(await paymentDb.effectsOf(event.id)).toHaveLength(1);
    expect(paymentDeadLetters().filter((m) => m.headers['event-id'] === event.id)).toHaveLength(1);
  });

  it('keeps a handler slower than the session timeout (15 s vs 10 s) in the group: no rebalance, no redelivery', async () => {
    const slow = orderCreated();
    payment.behaviour.delays.set(slow.data.orderId, 15_000);
    const before = counts(payment);
    await publisher.publish(orderCreatedTopic, slow);
    await eventually(() => payment.behaviour.calls.get(slow.id) ?? 0, { accept: (n) => n >= 1, what: 'slow handler started' });

    const states = new Set<string>();
    const sampler = setInterval(() => states.add(payment.transport.stats().state), 200);
    try {
      await eventually(() => paymentDb.effectsOf(slow.id), { accept: (rows) => rows.length === 1, timeoutMs: 40_000, what: 'slow event handled' });
    } finally {
      clearInterval(sampler);
    }
    // Time for a redelivery to show up, if the group had moved the partition.
    const probe = orderCreated({ orderId: slow.data.orderId });
    payment.behaviour.delays.delete(slow.data.orderId);
    await publisher.publish(orderCreatedTopic, probe);
    await eventually(() => paymentDb.effectsOf(probe.id), { accept: (rows) => rows.length === 1, what: 'event after the slow one handled' });

    expect([...states]).toEqual(['joined']);
    expect(payment.behaviour.calls.get(slow.id)).toBe(1);
    expect(counts(payment).duplicate).toBe(before.duplicate);
    expect(await paymentDb.effectsOf(slow.id)).toHaveLength(1);
  });
});
