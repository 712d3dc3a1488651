import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { DataSource } from 'typeorm';
import { TransactionalWork } from './event-context';
import { InboxGuard } from './policies/inbox.guard';

/** A delivery whose handler method has run: its transactional work, waiting to be committed. */
export interface PendingDelivery {
  message: Pick<ConsumedMessage, 'topic' | 'partition' | 'offset'>;
  event: Pick<EventEnvelope, 'id' | 'type'>;
  work: readonly TransactionalWork[];
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
 * back that delivery alone and stops there.
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
        committed.push(
          await this.dataSource.transaction(async (tx): Promise<CommitOutcome> => {
            const claimed = await this.inbox.claim(tx, [delivery]);
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
 * in one statement, then each delivery's work inside a savepoint of its own,
 * so that a delivery whose work fails is rolled back without undoing its
 * neighbours. The batch stops at the first failing delivery (partition order):
 * the deliveries before it commit, its own inbox row and those of the ones
 * after it are taken back, and the failure is reported for it. A failure of
 * the transaction itself (connection lost, commit refused) commits nothing.
 */
export class TransactionPerBatch implements UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly inbox: InboxGuard,
  ) {}

  async run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult> {
    if (deliveries.length === 0) return { committed: [] };
    try {
      return await this.dataSource.transaction(async (tx): Promise<UnitOfWorkResult> => {
        const unclaimed = await this.inbox.claim(tx, deliveries);
        const committed: CommitOutcome[] = [];
        for (const delivery of deliveries) {
          // The first delivery of an event id takes its claim; the same event again in the batch is a duplicate.
          if (!unclaimed.delete(delivery.event.id)) {
            committed.push('duplicate');
            continue;
          }
          await tx.query('SAVEPOINT delivery');
          try {
            for (const work of delivery.work) await work(tx);
            await tx.query('RELEASE SAVEPOINT delivery');
            committed.push('handled');
          } catch (error) {
            await tx.query('ROLLBACK TO SAVEPOINT delivery');
            // Claimed by this batch and not applied: this delivery's row and those still unused (rows of
            // events handled before the batch were never claimed here and stay).
            await this.inbox.release(tx, [delivery.event.id, ...unclaimed]);
            return { committed, failure: { error } };
          }
        }
        return { committed };
      });
    } catch (error) {
      return { committed: [], failure: { error } };
    }
  }
}
