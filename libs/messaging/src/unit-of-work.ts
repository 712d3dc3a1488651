import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { StatementWork, statementSql, TransactionalWork } from './event-context';
import { InboxEntry, InboxGuard, SimpleQueryClient } from './policies/inbox.guard';

/** A delivery whose handler method has run: its transactional work, waiting to be committed. */
export interface PendingDelivery {
  message: Pick<ConsumedMessage, 'topic' | 'partition' | 'offset'>;
  event: Pick<EventEnvelope, 'id' | 'type'>;
  work: readonly TransactionalWork[];
  /** Set when `work` is one statement (`RegisteredWork.statement`): it may go with the inbox row as one statement. */
  statement?: StatementWork;
}

/** `handled`: its work committed with its inbox row. `duplicate`: its event was handled before; nothing ran. */
export type CommitOutcome = 'handled' | 'duplicate';

/**
 * What became of the deliveries given to a unit of work, in order:
 * `committed` holds the outcome of a prefix of them; when it is shorter than
 * the input, `failure` is the error of the next one (the failing delivery),
 * and the deliveries after it were not applied. Partition order holds: nothing
 * behind a failed delivery commits before it.
 */
export interface UnitOfWorkResult {
  committed: CommitOutcome[];
  failure?: { error: unknown };
}

/**
 * Runs the transactional phase of deliveries: claims their inbox rows and
 * runs their work, committing both together. The policies around it (parse,
 * route, pre-check, classify, retry, dead-letter) are the same whichever
 * strategy runs; only how many deliveries share a transaction differs.
 */
export interface UnitOfWork {
  run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult>;
}

/**
 * One transaction per delivery: insert the inbox row (a conflict means a
 * duplicate, and nothing else runs), run the work, commit. A failure rolls
 * back that delivery alone and stops there. Round trips: the open and the
 * claim together, the work's statements, the commit — or, when the work is
 * one {@link StatementWork}, a single statement that holds the work and the
 * inbox row and commits by itself ({@link InboxGuard.claimingStatement});
 * only if it did not apply does the ordinary transaction follow.
 */
export class TransactionPerDelivery implements UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly inbox: InboxGuard,
  ) {}

  async run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult> {
    const committed: CommitOutcome[] = [];
    for (const delivery of deliveries) {
      try {
        const alone = delivery.statement && (await inOneStatement(this.dataSource, this.inbox, delivery, delivery.statement));
        if (alone) {
          committed.push(alone);
          continue;
        }
        committed.push(
          await claimingTransaction(this.dataSource, this.inbox, [delivery], async (tx, claimed): Promise<CommitOutcome> => {
            if (claimed.size === 0) return 'duplicate';
            for (const work of delivery.work) await work(tx);
            return 'handled';
          }),
        );
      } catch (error) {
        return { committed, failure: { error } };
      }
    }
    return { committed };
  }
}

/**
 * One transaction for a batch of deliveries of one partition: the inbox rows
 * in one statement, each delivery's work, one commit. Optimistic: no
 * savepoint per delivery (two round trips each, and a subtransaction each —
 * past 64 of them PostgreSQL's snapshots slow down for every session). When a
 * delivery's work fails, the whole transaction rolls back and the deliveries
 * before it run again, their same work, in a new transaction without it; the
 * failure is reported for it (partition order: nothing behind it commits
 * before it). Works are re-runnable: they act only through the transaction
 * they are given, so a rolled-back run left nothing behind — only a log line
 * or a metric they record may appear twice. A failure of the transaction
 * itself (connection lost, commit refused) commits nothing. When every
 * work of the batch is one statement, the open, the claims and all the
 * statements go as one query, then the commit: two round trips for the
 * batch; a batch of one goes as one statement with its inbox row, as one by
 * one.
 */
export class TransactionPerBatch implements UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly inbox: InboxGuard,
  ) {}

  async run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult> {
    if (deliveries.length === 0) return { committed: [] };
    const [only] = deliveries;
    if (deliveries.length === 1 && only.statement) {
      // A batch of one (a partition at low load) whose work is one statement: as one statement, like one by one.
      try {
        const alone = await inOneStatement(this.dataSource, this.inbox, only, only.statement);
        if (alone) return { committed: [alone] };
      } catch (error) {
        return { committed: [], failure: { error } };
      }
    }
    const asStatements = await this.asStatements(deliveries);
    if (asStatements) return { committed: asStatements };
    const all = await this.attempt(deliveries);
    if ('committed' in all) return all;
    if (all.failedAt === undefined || all.failedAt === 0) return { committed: [], failure: { error: all.error } };
    // A delivery's work failed and took the transaction with it: the ones before it again, without it.
    const before = await this.attempt(deliveries.slice(0, all.failedAt));
    if ('committed' in before) return { committed: before.committed, failure: { error: all.error } };
    return { committed: [], failure: { error: before.error } };
  }

  /**
   * A batch of several whose works are each one statement, in two round
   * trips: the open, the claims and every statement as one query, then the
   * commit. Null — nothing committed, the ordinary way decides — when that
   * does not do: a batch of one (it went as one statement already, see
   * `run`), a delivery with other work, the same event twice, an event claimed before
   * (the claim fails), a work that did not apply, any failure (which the
   * ordinary way then finds and reports).
   */
  private async asStatements(deliveries: readonly PendingDelivery[]): Promise<CommitOutcome[] | null> {
    const statements = deliveries.flatMap((delivery) => (delivery.statement ? [delivery.statement] : []));
    if (deliveries.length < 2 || statements.length < deliveries.length || new Set(deliveries.map((d) => d.event.id)).size < deliveries.length) return null;
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as SimpleQueryClient;
      const rows = await this.inbox.openClaimAndRun(
        client,
        deliveries,
        statements.map((work) => ({ sql: statementSql(work), parameters: work.parameters })),
      );
      if (rows.some((r) => r.length === 0)) {
        await client.query('ROLLBACK');
        return null;
      }
      await client.query('COMMIT');
      statements.forEach((work, i) => work.applied?.(rows[i]));
      return deliveries.map(() => 'handled');
    } catch {
      await runner.query('ROLLBACK').catch(() => undefined);
      return null;
    } finally {
      await runner.release();
    }
  }

  /** One transaction for `deliveries`: their outcomes once committed, else the error and, if a work threw it, whose. */
  private async attempt(deliveries: readonly PendingDelivery[]): Promise<{ committed: CommitOutcome[] } | { error: unknown; failedAt?: number }> {
    let failedAt: number | undefined;
    try {
      const committed = await claimingTransaction(this.dataSource, this.inbox, deliveries, async (tx, unclaimed): Promise<CommitOutcome[]> => {
        const outcomes: CommitOutcome[] = [];
        for (const [index, delivery] of deliveries.entries()) {
          // The first delivery of an event id takes its claim; the same event again in the batch is a duplicate.
          if (!unclaimed.delete(delivery.event.id)) {
            outcomes.push('duplicate');
            continue;
          }
          failedAt = index;
          for (const work of delivery.work) await work(tx);
          failedAt = undefined;
          outcomes.push('handled');
        }
        return outcomes;
      });
      return { committed };
    } catch (error) {
      return { error, failedAt };
    }
  }
}

/**
 * A delivery's work and its inbox row as one statement, committed by itself
 * ({@link InboxGuard.claimingStatement}): its outcome, or null when the work
 * did not apply — then nothing committed, and the caller runs the delivery in
 * an ordinary transaction.
 */
async function inOneStatement(dataSource: DataSource, inbox: InboxGuard, delivery: PendingDelivery, work: StatementWork): Promise<CommitOutcome | null> {
  const { sql, parameters } = inbox.claimingStatement(work, delivery);
  let rows: Record<string, unknown>[];
  try {
    rows = await dataSource.query(sql, parameters);
  } catch (error) {
    if (inbox.isClaimConflict(error)) return 'duplicate';
    throw error;
  }
  if (rows.length === 0) return null;
  work.applied?.(rows);
  return 'handled';
}

/**
 * A transaction whose first round trip opens it and claims the inbox rows
 * ({@link InboxGuard.openAndClaim}), then `work` with the new event ids and
 * the transaction's EntityManager, then COMMIT; any failure rolls back.
 * What `dataSource.transaction()` does, one round trip shorter: TypeORM did
 * not send the `START TRANSACTION` itself, so its runner is told it is in a
 * transaction — the state its own `startTransaction()` leaves — and a
 * repository's `save()` in the work joins it instead of opening its own.
 */
async function claimingTransaction<T>(
  dataSource: DataSource,
  inbox: InboxGuard,
  entries: readonly InboxEntry[],
  work: (tx: EntityManager, unclaimed: Set<string>) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  let sent = false;
  try {
    const client = (await runner.connect()) as SimpleQueryClient;
    sent = true;
    const unclaimed = await inbox.openAndClaim(client, entries);
    joinOpenTransaction(runner);
    const result = await work(runner.manager, unclaimed);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (sent) await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}

/** A TypeORM runner's state inside a transaction it did not open (TypeORM 0.3: `startTransaction()` at depth 0). */
function joinOpenTransaction(runner: QueryRunner): void {
  Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
}
