import { createTestDatabase } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, EntityManager, EntitySchema } from 'typeorm';
import {
  applyWork,
  InboxGuard,
  KafkaEventContext,
  PendingDelivery,
  StatementWork,
  TransactionalWork,
  TransactionPerBatch,
  TransactionPerDelivery,
  UnitOfWork,
} from '../src';
import { migrateTestDatabase } from './support/test-consumer';

/**
 * The two unit-of-work strategies against a real PostgreSQL database: one
 * transaction per delivery (what the transport runs), and one per batch of a
 * partition (CONSUMER_UNIT_OF_WORK=batch), optimistic: a failing delivery rolls
 * the batch back and the ones before it run again without it.
 * Same input, same contract: the committed prefix, then the first failure.
 */
describe('unit of work strategies on a real PostgreSQL database', () => {
  let dataSource: DataSource;
  let drop: () => Promise<void>;
  const inbox = new InboxGuard('uow-test');

  beforeAll(async () => {
    const db = await createTestDatabase('messaging_uow');
    await migrateTestDatabase(db.url);
    dataSource = new DataSource({ type: 'postgres', url: db.url, extra: { max: 4 }, entities: [TestEffect] });
    await dataSource.initialize();
    drop = async () => {
      await dataSource.destroy();
      await db.drop();
    };
  });

  afterAll(async () => {
    await drop?.();
  });

  beforeEach(async () => {
    await dataSource.query(`TRUNCATE inbox, test_effects`);
  });

  let offset = 0;
  const effect = (id: string) => async (tx: EntityManager) =>
    tx.query(`INSERT INTO test_effects (event_id, event_type, order_id, attempt, follow_up) VALUES ($1, 'order.created', 'o', 1, '{}')`, [id]);
  const failing = () => async () => {
    throw new Error('the handler refuses');
  };
  const delivery = (id: string = randomUUID(), work: readonly TransactionalWork[] = [effect(id)]): PendingDelivery => ({
    event: { id, type: 'order.created' },
    message: { topic: 'order.created', partition: 0, offset: String(offset++) },
    work,
  });
  const effects = async () => (await dataSource.query(`SELECT event_id FROM test_effects ORDER BY id`)).map((r: { event_id: string }) => r.event_id);
  const handled = async () => (await dataSource.query(`SELECT event_id FROM inbox ORDER BY kafka_offset`)).map((r: { event_id: string }) => r.event_id);

  describe.each<[string, (ds: DataSource) => UnitOfWork]>([
    ['one transaction per delivery', (ds) => new TransactionPerDelivery(ds, inbox)],
    ['one transaction per batch', (ds) => new TransactionPerBatch(ds, inbox)],
  ])('%s', (_, strategy) => {
    it("commits each delivery's work with its inbox row, and reports an event handled before as a duplicate without running its work", async () => {
      const before = delivery();
      await strategy(dataSource).run([before]);
      const [a, b] = [delivery(), delivery()];

      const result = await strategy(dataSource).run([a, delivery(before.event.id), b]);

      expect(result).toEqual({ committed: ['handled', 'duplicate', 'handled'] });
      expect(await effects()).toEqual([before.event.id, a.event.id, b.event.id]);
      expect(await handled()).toEqual([before.event.id, a.event.id, b.event.id]);
    });

    it('stops at the first failing delivery: the ones before it commit, it and the ones after it leave no trace', async () => {
      const old = delivery();
      await strategy(dataSource).run([old]);
      const [a, bad, c] = [delivery(), delivery(randomUUID(), [failing()]), delivery()];

      const result = await strategy(dataSource).run([a, bad, delivery(old.event.id), c]);

      expect(result.committed).toEqual(['handled']);
      expect((result.failure?.error as Error).message).toBe('the handler refuses');
      expect(await effects()).toEqual([old.event.id, a.event.id]);
      // The event handled before the batch keeps its inbox row; the failing one and those after it have none.
      expect(await handled()).toEqual([old.event.id, a.event.id]);
    });

    it('counts the same event twice in one run as one delivery and one duplicate', async () => {
      const id = randomUUID();
      expect(await strategy(dataSource).run([delivery(id), delivery(id)])).toEqual({ committed: ['handled', 'duplicate'] });
      expect(await effects()).toEqual([id]);
    });
  });

  it("keeps the deliveries of a batch around a failing one apart: its work is rolled back, its neighbours' commits once", async () => {
    const a = delivery();
    let runsOfA = 0;
    const counted = { ...a, work: [...a.work, async () => void runsOfA++] };
    const partly = delivery(randomUUID(), [effect(randomUUID()), failing()]); // wrote an effect, then failed
    const result = await new TransactionPerBatch(dataSource, inbox).run([counted, partly, delivery()]);
    expect(result.committed).toEqual(['handled']);
    expect((result.failure?.error as Error).message).toBe('the handler refuses');
    expect(await effects()).toEqual([a.event.id]);
    expect(await handled()).toEqual([a.event.id]);
    // Ran in the rolled-back transaction and again in the one that committed.
    expect(runsOfA).toBe(2);
  });

  /** The statements `run()` sends, as their leading keywords (a query of several statements shows each). */
  async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
    const statements: string[] = [];
    const original = Object.getOwnPropertyDescriptor(Client.prototype, 'query')!.value as (...args: unknown[]) => unknown;
    const query = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const sql = String(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text);
      statements.push(
        sql
          .split(';')
          .map((one) => one.trim().split(/\s+/).slice(0, 2).join(' '))
          .join('; '),
      );
      return original.apply(this, args);
    } as never);
    try {
      await run();
    } finally {
      query.mockRestore();
    }
    return statements;
  }

  it("opens the transaction and claims the inbox rows in one round trip, then each delivery's work and the commit: no savepoint", async () => {
    const batch = await statementsOf(() => new TransactionPerBatch(dataSource, inbox).run([delivery(), delivery(), delivery()]));
    expect(batch).toEqual(['START TRANSACTION; INSERT INTO', 'INSERT INTO', 'INSERT INTO', 'INSERT INTO', 'COMMIT']);
    const one = await statementsOf(() => new TransactionPerDelivery(dataSource, inbox).run([delivery(), delivery()]));
    expect(one).toEqual(['START TRANSACTION; INSERT INTO', 'INSERT INTO', 'COMMIT', 'START TRANSACTION; INSERT INTO', 'INSERT INTO', 'COMMIT']);
  });

  it.each<[string, (ds: DataSource) => UnitOfWork]>([
    ['per delivery', (ds) => new TransactionPerDelivery(ds, inbox)],
    ['per batch', (ds) => new TransactionPerBatch(ds, inbox)],
  ])("joins a repository's save() to the transaction it opened (%s): a later failure rolls the save back too", async (_, strategy) => {
    const id = randomUUID();
    const saved = async (tx: EntityManager) =>
      void (await tx.getRepository(TestEffect).save({ eventId: id, eventType: 'order.created', orderId: 'o', attempt: 1, followUp: {} }));
    const result = await strategy(dataSource).run([delivery(id, [saved, failing()])]);
    expect((result.failure?.error as Error).message).toBe('the handler refuses');
    expect(await effects()).toEqual([]);
    expect(await handled()).toEqual([]);

    expect(await strategy(dataSource).run([delivery(id, [saved])])).toEqual({ committed: ['handled'] });
    expect(await effects()).toEqual([id]);
  });

  describe('a work of one statement (StatementWork)', () => {
    /** Records an effect for `id`; `when` false: the statement changes nothing and returns no row. */
    const recording = (id: string, extra: Partial<StatementWork> & { when?: boolean } = {}): StatementWork => ({
      with: `effect AS (
        INSERT INTO test_effects (event_id, event_type, order_id, attempt, follow_up)
        SELECT $1, 'order.created', 'o', 1, '{}' WHERE $2::boolean RETURNING event_id)`,
      select: 'SELECT event_id FROM effect',
      parameters: [id, extra.when ?? true],
      otherwise: async () => {
        throw new Error('otherwise ran');
      },
      ...extra,
    });
    const registered = (statement: StatementWork, id: string = String(statement.parameters[0])): PendingDelivery => {
      const ctx = new KafkaEventContext([{} as never, { id, type: 'order.created' } as never, 1]);
      ctx.inTransaction(statement);
      const { work, statement: alone } = ctx.seal();
      return { ...delivery(id, work), statement: alone };
    };

    it('is sent with the inbox row as one statement, committed by itself, and its rows go to applied()', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const seen: unknown[] = [];
      const applied = (rows: unknown[]) => void seen.push(...rows);
      const sent = await statementsOf(async () =>
        expect(await new TransactionPerDelivery(dataSource, inbox).run([registered(recording(a, { applied })), registered(recording(b, { applied }))])).toEqual(
          {
            committed: ['handled', 'handled'],
          },
        ),
      );
      expect(sent).toEqual(['WITH effect', 'WITH effect']);
      expect(seen).toEqual([{ event_id: a }, { event_id: b }]);
      expect(await effects()).toEqual([a, b]);
      expect(await handled()).toEqual([a, b]);

      // A batch of one goes the same way; a batch of several as one query (open, claims, statements) and the commit.
      const [c, d, e] = [randomUUID(), randomUUID(), randomUUID()];
      expect(await statementsOf(() => new TransactionPerBatch(dataSource, inbox).run([registered(recording(c))]))).toEqual(['WITH effect']);
      const seenInBatch: unknown[] = [];
      const batch = [registered(recording(d, { applied: (rows) => void seenInBatch.push(...rows) })), registered(recording(e))];
      expect(await statementsOf(() => new TransactionPerBatch(dataSource, inbox).run(batch))).toEqual([
        'START TRANSACTION; INSERT INTO; WITH effect; WITH effect',
        'COMMIT',
      ]);
      expect(seenInBatch).toEqual([{ event_id: d }]);
      expect(await effects()).toEqual([a, b, c, d, e]);
      expect(await handled()).toEqual([a, b, c, d, e]);
    });

    it('in a batch of statements, leaves an event claimed before or a work that did not apply to the ordinary way: nothing of the first try commits', async () => {
      const before = randomUUID();
      await new TransactionPerDelivery(dataSource, inbox).run([registered(recording(before))]);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      let result: unknown;
      const sent = await statementsOf(
        async () =>
          (result = await new TransactionPerBatch(dataSource, inbox).run([registered(recording(a)), registered(recording(before)), registered(recording(b))])),
      );
      expect(result).toEqual({ committed: ['handled', 'duplicate', 'handled'] });
      expect(sent[0]).toBe('START TRANSACTION; INSERT INTO; WITH effect; WITH effect; WITH effect'); // the claim fails
      expect(sent.slice(1)).toEqual(['ROLLBACK', 'START TRANSACTION; INSERT INTO', 'WITH effect', 'WITH effect', 'COMMIT']);

      const notApplied = registered(recording(c, { when: false, otherwise: effect(c) }));
      const d = randomUUID();
      expect(await new TransactionPerBatch(dataSource, inbox).run([notApplied, registered(recording(d))])).toEqual({ committed: ['handled', 'handled'] });
      expect(await effects()).toEqual([before, a, b, c, d]);
      expect(await handled()).toEqual([before, a, b, c, d]);
    });

    it.each<[string, (ds: DataSource) => UnitOfWork]>([
      ['per delivery', (ds) => new TransactionPerDelivery(ds, inbox)],
      ['per batch', (ds) => new TransactionPerBatch(ds, inbox)],
    ])('reports an event handled before as a duplicate, in that one statement, and leaves no second effect (%s)', async (_, strategy) => {
      const id = randomUUID();
      await strategy(dataSource).run([registered(recording(id))]);
      let result: unknown;
      expect(await statementsOf(async () => (result = await strategy(dataSource).run([registered(recording(id))])))).toEqual(['WITH effect']);
      expect(result).toEqual({ committed: ['duplicate'] });
      expect(await effects()).toEqual([id]);
    });

    it('commits nothing when the statement did not apply, and runs otherwise() in a transaction with the inbox row', async () => {
      const id = randomUUID();
      const statement = recording(id, { when: false, otherwise: effect(id) });
      let result: unknown;
      const sent = await statementsOf(async () => (result = await new TransactionPerDelivery(dataSource, inbox).run([registered(statement)])));
      expect(result).toEqual({ committed: ['handled'] });
      // The statement alone (no row, nothing committed), then the transaction: the statement again, otherwise()'s insert.
      expect(sent).toEqual(['WITH effect', 'START TRANSACTION; INSERT INTO', 'WITH effect', 'INSERT INTO', 'COMMIT']);
      expect(await effects()).toEqual([id]);
      expect(await handled()).toEqual([id]);
    });

    it('reports a failing statement as the delivery failing, and commits nothing of it', async () => {
      const bad = registered({ ...recording(randomUUID()), parameters: ['not a uuid', true] }, randomUUID());
      const result = await new TransactionPerDelivery(dataSource, inbox).run([bad]);
      expect(String((result.failure?.error as Error).message)).toMatch(/uuid/);
      expect(await handled()).toEqual([]);
      expect(await effects()).toEqual([]);
    });

    it('goes as one statement only when it is the only work of its delivery', async () => {
      const ctx = new KafkaEventContext([{} as never, { id: randomUUID(), type: 'order.created' } as never, 1]);
      ctx.inTransaction(recording(randomUUID()));
      ctx.inTransaction(async () => undefined);
      expect(ctx.seal().statement).toBeUndefined();
      await expect(dataSource.transaction((tx) => applyWork(tx, recording(randomUUID(), { when: false, otherwise: async () => 'otherwise' })))).resolves.toBe(
        'otherwise',
      );
    });
  });

  it('rolls back and hands the connection back when the claim itself fails, and the next run works', async () => {
    const bad = delivery();
    (bad.message as { offset: string }).offset = 'not a number'; // kafka_offset is a bigint: the INSERT fails
    const result = await new TransactionPerDelivery(dataSource, inbox).run([bad]);
    expect(String((result.failure?.error as Error).message)).toMatch(/bigint/);
    const good = delivery();
    expect(await new TransactionPerBatch(dataSource, inbox).run([good])).toEqual({ committed: ['handled'] });
    expect(await handled()).toEqual([good.event.id]);
  });
});

/** test_effects as a TypeORM entity: a handler's work that saves through a repository. */
const TestEffect = new EntitySchema<{ id?: string; eventId: string; eventType: string; orderId: string; attempt: number; followUp: object }>({
  name: 'TestEffect',
  tableName: 'test_effects',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    eventId: { name: 'event_id', type: 'uuid' },
    eventType: { name: 'event_type', type: 'text' },
    orderId: { name: 'order_id', type: 'text' },
    attempt: { type: 'integer' },
    followUp: { name: 'follow_up', type: 'jsonb' },
  },
});
