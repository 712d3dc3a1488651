import { EventEnvelope } from '@lib/events';
import { InboxGuard } from '@lib/messaging';
import { AppDatabase, createAppDatabase, eventually, orderCancelled, RecordingDeadLetterSink } from '@lib/testing';
import { notificationService } from '../../../notification.definition';
import { NotificationChannel, NotificationMessage } from '../../domain/notification';
import { NotificationQueue } from '../../infrastructure/notification-queue';
import { NotifyCustomerHandler } from '../notify-customer/notify-customer.handler';
import { DispatcherSettings, NotificationDispatcher } from './notification-dispatcher';

jest.setTimeout(30_000);

/** A channel double: records each call (and what the probe saw then), fails or hangs on request. */
class TestChannel implements NotificationChannel {
  readonly maxDeliveryMs = 200;
  readonly calls: { eventId: string; seen?: unknown }[] = [];
  readonly failures = new Map<string, number>();
  readonly hanging = new Set<string>();
  probe: (() => Promise<unknown>) | null = null;

  constructor(readonly name: string) {}

  async deliver(message: NotificationMessage, signal?: AbortSignal): Promise<void> {
    const call: { eventId: string; seen?: unknown } = { eventId: message.eventId };
    this.calls.push(call);
    if (this.probe) call.seen = await this.probe();
    if (this.hanging.has(message.eventId)) {
      await new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    const left = this.failures.get(message.eventId) ?? 0;
    if (left > 0) {
      this.failures.set(message.eventId, left - 1);
      throw new Error(`${this.name} answered 500`);
    }
  }

  callsFor(eventId: string) {
    return this.calls.filter((c) => c.eventId === eventId);
  }
}

describe('NotificationDispatcher on a real PostgreSQL database', () => {
  let db: AppDatabase;
  let log: TestChannel;
  let webhook: TestChannel;
  let sink: RecordingDeadLetterSink;
  const dispatchers: NotificationDispatcher[] = [];
  const settings: DispatcherSettings = { maxAttempts: 3, retryBackoffMs: 20, concurrency: 4, pollIntervalMs: 100, consumerGroup: 'notification' };
  const inbox = new InboxGuard('notification');

  beforeAll(async () => {
    db = await createAppDatabase(notificationService);
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await db.dataSource.query(`TRUNCATE notifications, inbox`);
    log = new TestChannel('log');
    webhook = new TestChannel('webhook');
    sink = new RecordingDeadLetterSink('notification.dlq');
  });

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  });

  const dispatcher = (overrides: Partial<DispatcherSettings> = {}, channels: NotificationChannel[] = [log, webhook]) => {
    const d = new NotificationDispatcher(new NotificationQueue(db.dataSource), channels, sink, { ...settings, ...overrides });
    dispatchers.push(d);
    return d;
  };
  const cancelled = (): EventEnvelope<'order.cancelled'> => orderCancelled();
  const source = { topic: 'order.cancelled', partition: 1, offset: '17' };
  /** What the consumer commits for an event: its notifications and its inbox row. */
  const record = async (event: EventEnvelope<'order.cancelled'>, channels: NotificationChannel[] = [log, webhook]) => {
    await db.dataSource.transaction(async (tx) => {
      await inbox.claim(tx, [{ event, message: source }]);
      await new NotifyCustomerHandler(channels).execute(tx, event, source);
    });
    return event;
  };
  const rowsOf = (eventId: string): Promise<{ channel: string; delivered: boolean; attempts: number; leased: boolean }[]> =>
    db.dataSource.query(
      `SELECT channel, delivered_at IS NOT NULL AS delivered, attempts, leased_until IS NOT NULL AS leased FROM notifications WHERE event_id = $1 ORDER BY channel`,
      [eventId],
    );
  const handled = async (eventId: string) => (await db.dataSource.query(`SELECT 1 FROM inbox WHERE event_id = $1`, [eventId])).length === 1;
  const openTransactions = async () =>
    Number(
      (
        await db.dataSource.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
        )
      )[0].n,
    );

  it('delivers each recorded notification through its channel, with no transaction open during the call, and marks it delivered', async () => {
    const [a, b] = [await record(cancelled()), await record(cancelled())];
    webhook.probe = openTransactions;

    expect(await dispatcher().deliverDue()).toBe(4);

    expect(log.calls.map((c) => c.eventId).sort()).toEqual([a.id, b.id].sort());
    expect(webhook.calls.map((c) => c.seen)).toEqual([0, 0]);
    for (const event of [a, b]) {
      expect(await rowsOf(event.id)).toEqual([
        { channel: 'log', delivered: true, attempts: 1, leased: false },
        { channel: 'webhook', delivered: true, attempts: 1, leased: false },
      ]);
    }
    expect(await dispatcher().deliverDue()).toBe(0); // nothing is delivered twice
  });

  it('records the deliveries that finish together with one UPDATE', async () => {
    const events = await Promise.all(Array.from({ length: 5 }, () => record(cancelled(), [log])));
    const statements: string[] = [];
    const query = db.dataSource.query.bind(db.dataSource);
    const spied = Object.create(db.dataSource, {
      query: { value: (sql: string, parameters?: unknown[]) => (statements.push(sql.trim().split(/\s+/)[0]), query(sql, parameters)) },
    }) as typeof db.dataSource;
    const d = new NotificationDispatcher(new NotificationQueue(spied), [log], sink, { ...settings, concurrency: 10 });
    dispatchers.push(d);

    expect(await d.deliverDue()).toBe(5);

    expect(statements).toEqual(['UPDATE', 'UPDATE']); // the claim, then the five marks at once
    for (const event of events) expect(await rowsOf(event.id)).toEqual([{ channel: 'log', delivered: true, attempts: 1, leased: false }]);
  });

  it('claims the rows of the commits that follow a wake-up within gatherMs with one UPDATE', async () => {
    const claims: string[] = [];
    const query = db.dataSource.query.bind(db.dataSource);
    const spied = Object.create(db.dataSource, {
      query: { value: (sql: string, parameters?: unknown[]) => (/attempts = n\.attempts \+ 1/.test(sql) && claims.push(sql), query(sql, parameters)) },
    }) as typeof db.dataSource;
    const d = new NotificationDispatcher(new NotificationQueue(spied), [log], sink, { ...settings, concurrency: 10, pollIntervalMs: 60_000, gatherMs: 300 });
    dispatchers.push(d);
    d.start();
    await eventually(() => claims.length, { accept: (n) => n === 1, what: 'the first claim, at start' });

    const events: EventEnvelope<'order.cancelled'>[] = [];
    for (let i = 0; i < 3; i++) {
      events.push(await record(cancelled(), [log]));
      d.wake(); // as the consumer's after-commit hook does
    }
    await eventually(() => Promise.all(events.map((e) => rowsOf(e.id))), {
      accept: (all) => all.every(([row]) => row?.delivered),
      what: 'all three delivered',
    });
    expect(claims).toHaveLength(2); // the one at start, then one for the three commits
  });

  it('tries a failed notification again once its backoff has passed, and then delivers it', async () => {
    const event = await record(cancelled());
    webhook.failures.set(event.id, 1);
    const d = dispatcher();
    await d.deliverDue();
    expect(await rowsOf(event.id)).toEqual([
      { channel: 'log', delivered: true, attempts: 1, leased: false },
      { channel: 'webhook', delivered: false, attempts: 1, leased: false },
    ]);

    await eventually(async () => (await d.deliverDue(), rowsOf(event.id)), { accept: (rows) => rows.every((r) => r.delivered), what: 'webhook delivered' });
    expect(webhook.callsFor(event.id)).toHaveLength(2);
    expect(log.callsFor(event.id)).toHaveLength(1);
  });

  it("dead-letters a notification no attempt delivered — the event as the value, the usual headers — and removes its row and the event's inbox row, keeping the other channel's", async () => {
    const event = await record(cancelled());
    webhook.failures.set(event.id, 1000);
    const d = dispatcher();

    await eventually(async () => (await d.deliverDue(), sink.letters.length), { accept: (n) => n === 1, what: 'one dead letter' });

    const [{ original, reason }] = sink.letters;
    expect(reason).toEqual({ kind: 'delivery_failed', message: 'webhook answered 500', attempts: 3 });
    expect(original).toEqual({
      topic: 'order.cancelled',
      partition: 1,
      offset: '17',
      key: event.data.orderId,
      value: JSON.stringify(event),
      headers: { 'event-id': event.id, 'event-type': 'order.cancelled', 'event-version': '1', 'correlation-id': event.correlationId },
    });
    expect(webhook.callsFor(event.id)).toHaveLength(3);
    expect(await rowsOf(event.id)).toEqual([{ channel: 'log', delivered: true, attempts: 1, leased: false }]);
    expect(await handled(event.id)).toBe(false); // a replay of the dead letter is handled, and delivers again
  });

  it('never delivers one notification twice at once when several dispatchers share the database', async () => {
    const events = await Promise.all(Array.from({ length: 30 }, () => record(cancelled(), [log])));
    const [one, two] = [dispatcher({ concurrency: 7 }, [log]), dispatcher({ concurrency: 7 }, [log])];
    const delivered = async () => Number((await db.dataSource.query(`SELECT count(*) AS n FROM notifications WHERE delivered_at IS NOT NULL`))[0].n);

    await eventually(async () => (await Promise.all([one.deliverDue(), two.deliverDue()]), delivered()), {
      accept: (n) => n === events.length,
      what: 'all delivered',
    });
    expect(log.calls).toHaveLength(events.length);
    expect(new Set(log.calls.map((c) => c.eventId)).size).toBe(events.length);
  });

  it('delivers, once its lease has expired, a notification whose dispatcher died while delivering it', async () => {
    const event = await record(cancelled(), [log]);
    await new NotificationQueue(db.dataSource).claim(10, 300); // claimed, then the process died
    const d = dispatcher({}, [log]);
    expect(await d.deliverDue()).toBe(0); // leased: left alone

    await eventually(async () => (await d.deliverDue(), rowsOf(event.id)), { accept: ([row]) => row.delivered, what: 'delivered after the lease' });
    expect(await rowsOf(event.id)).toEqual([{ channel: 'log', delivered: true, attempts: 2, leased: false }]);
  });

  it('runs by itself: delivers when woken after a commit, keeps other notifications flowing past a slow one, and releases a delivery in flight when stopped', async () => {
    const d = dispatcher({ pollIntervalMs: 60_000 }); // only wake-ups and finished deliveries drive it here
    d.start();
    const slow = await record(cancelled());
    webhook.hanging.add(slow.id);
    d.wake();
    await eventually(() => webhook.callsFor(slow.id).length, { accept: (n) => n === 1, what: 'slow delivery started' });

    const next = await record(cancelled());
    d.wake();
    await eventually(() => rowsOf(next.id), { accept: (rows) => rows.every((r) => r.delivered), what: 'the next event delivered past the slow one' });

    await d.stop();
    expect(await rowsOf(slow.id)).toEqual([
      { channel: 'log', delivered: true, attempts: 1, leased: false },
      { channel: 'webhook', delivered: false, attempts: 0, leased: false }, // released, the attempt not counted
    ]);
  });
});
