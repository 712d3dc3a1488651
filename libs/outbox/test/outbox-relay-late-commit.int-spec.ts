import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DurableProducer } from '@lib/kafka';
import { TopicRecorder, uniqueName } from '@lib/testing';
import { OutboxRelay } from '../src';
import { createOutboxDatabase, createUniqueTopic, decodeRow, insertRows, MAIN_BROKERS, MemoryLogger, OutboxDatabase, testRow } from './outbox-test-kit';

jest.setTimeout(120_000);

/**
 * A row that commits late, with an id below the rows a streak of pipelined
 * rounds has already sent, and its key's next row committed after it: the
 * streak reads on from the last id sent and would publish the next row
 * first. The relay must keep the key's order (the three-relays suite caught
 * it under load: one writer's 25 keys out of order).
 */
describe('outbox relay and a row that commits late with a small id', () => {
  let db: OutboxDatabase;
  let recorder: TopicRecorder | undefined;
  let relay: OutboxRelay | undefined;
  let producer: DurableProducer | undefined;
  const clients: Client[] = [];

  afterAll(async () => {
    await relay?.stop();
    await producer?.disconnect();
    await recorder?.stop();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db?.drop();
  });

  it("publishes the late row before its key's next row, though a streak had passed its id", async () => {
    db = await createOutboxDatabase('outbox_late_commit');
    const topic = await createUniqueTopic('late-commit', MAIN_BROKERS, 1);
    recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    const [late, other] = [await db.sql(), await db.sql()];
    clients.push(late, other);

    // The late row takes the smallest id, and stays uncommitted.
    const key = randomUUID();
    await late.query('BEGIN');
    await insertRows(late, topic, [testRow(key, 0)]);
    // A backlog above it: six full pages of ten, so the relay streams.
    const others = Array.from({ length: 60 }, (_, i) => testRow(`other-${i % 6}`, Math.floor(i / 6)));
    await insertRows(other, topic, others);

    // The first send waits until the late row and its key's next row have committed.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let sends = 0;
    let firstSend!: () => void;
    const sending = new Promise<void>((resolve) => (firstSend = resolve));
    producer = new DurableProducer({ brokers: MAIN_BROKERS, clientId: uniqueName('late-commit-relay') });
    const inner = producer;
    relay = new OutboxRelay({
      connectionString: db.url,
      publisher: {
        send: async (messages) => {
          if (sends++ === 0) {
            firstSend();
            await gate;
          }
          return inner.send(messages);
        },
      },
      batchSize: 10,
      pollIntervalMs: 100,
      logger: new MemoryLogger(),
    });
    relay.start();
    await sending; // streaming: the first page is on its way, the next read after its last id
    await late.query('COMMIT');
    await insertRows(other, topic, [testRow(key, 1)]); // the key's next row: a larger id than the whole backlog
    open();

    await recorder.waitFor(62, () => true, 60_000);
    const ofKey = recorder.messages.map((m) => decodeRow(m.value)).filter((row) => row.key === key);
    expect(ofKey.map((row) => row.seq)).toEqual([0, 1]);
  });
});
