import { eventually, TopicRecorder } from '@lib/testing';
import { deadLettersOf, orderCreated, TestDb, TestPublisher } from './kafka-test-kit';
import { TestConsumer } from './test-consumer';

export interface OutageScenario {
  consumer: TestConsumer;
  db: TestDb;
  publisher: TestPublisher;
  dlq: TopicRecorder;
  topic: string;
  group: string;
  /** Takes the database away (and `resume` brings it back). */
  interrupt: () => Promise<void>;
  resume: () => Promise<void>;
  outageMs: number;
  /** The test can still read the database while the consumer cannot (the outage is in front of the server). */
  databaseReadableDuringOutage: boolean;
}

/**
 * The database outage the consumer runtime must survive: events handled
 * before it; during it, events keep arriving while nothing is committed and
 * the consumer reports what it waits for; after it, every event has exactly
 * one effect and one inbox row, nothing was retried or dead-lettered, and the
 * consumer keeps going.
 */
export async function expectDatabaseOutageSurvived(s: OutageScenario): Promise<void> {
  const effects = () => s.db.count(`SELECT count(*) AS n FROM test_effects`);
  const before = Array.from({ length: 6 }, () => orderCreated());
  await s.publisher.publishAll(s.topic, before);
  await eventually(effects, { accept: (n) => n === before.length, what: 'events before the outage handled' });

  await s.interrupt();
  const startedAt = Date.now();
  const during: ReturnType<typeof orderCreated>[] = [];
  const waitingSeen: string[] = [];
  while (Date.now() - startedAt < s.outageMs) {
    const batch = [orderCreated(), orderCreated(), orderCreated()];
    await s.publisher.publishAll(s.topic, batch);
    during.push(...batch);
    const { waitingFor } = s.consumer.transport.stats();
    if (waitingFor) waitingSeen.push(waitingFor);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Readiness (stats().waitingFor) reported the outage, and nothing was committed meanwhile.
  expect(waitingSeen.length).toBeGreaterThan(0);
  if (s.databaseReadableDuringOutage) expect(await effects()).toBe(before.length);
  await s.resume();

  const all = [...before, ...during];
  await eventually(() => s.db.count(`SELECT count(DISTINCT event_id) AS n FROM test_effects`), {
    accept: (n) => n === all.length,
    timeoutMs: 60_000,
    what: `all ${all.length} events handled after the database came back`,
  });
  expect(await effects()).toBe(all.length);
  expect(await s.db.count(`SELECT count(*) AS n FROM inbox WHERE consumer = $1`, [s.group])).toBe(all.length);
  const handledIds = new Set((await s.db.rows<{ event_id: string }>(`SELECT event_id FROM test_effects`)).map((r) => r.event_id));
  expect(all.filter((e) => !handledIds.has(e.id))).toEqual([]);

  const stats = s.consumer.transport.stats();
  expect(stats.counts[s.topic]).toMatchObject({ dead_lettered: 0, retried: 0 });
  expect(stats.waitingFor).toBeNull();
  // One more event after the outage: handled, and by then a wrongly dead-lettered message would have shown up.
  await s.publisher.publish(s.topic, orderCreated());
  await eventually(effects, { accept: (n) => n === all.length + 1, what: 'event after the outage' });
  expect(deadLettersOf(s.dlq.messages, s.group)).toEqual([]);
}
