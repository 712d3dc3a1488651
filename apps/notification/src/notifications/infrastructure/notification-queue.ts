import { DataSource } from 'typeorm';

/** A notification claimed by a dispatcher for one delivery attempt. */
export interface ClaimedNotification {
  id: string;
  eventId: string;
  eventType: string;
  orderId: string;
  channel: string;
  subject: string;
  body: string;
  correlationId: string;
  /** Delivery attempts started, this one included. */
  attempts: number;
  lastError: string | null;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
  /** The event as it arrived, as JSON text. */
  eventPayload: string | null;
}

const CLAIMED_COLUMNS = `n.id, n.event_id AS "eventId", n.event_type AS "eventType", n.order_id AS "orderId", n.channel, n.subject, n.body,
  n.correlation_id AS "correlationId", n.attempts, n.last_error AS "lastError", n.source_topic AS "sourceTopic",
  n.source_partition AS "sourcePartition", n.source_offset::text AS "sourceOffset", n.event_payload::text AS "eventPayload"`;

/**
 * The undelivered notifications as a work queue, in the notification app's
 * database. Every statement is its own short transaction: nothing here holds
 * a transaction while a channel delivers.
 */
export class NotificationQueue {
  /** Deliveries waiting to be recorded together (see {@link markDelivered}). */
  private delivered: { id: string; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Claims up to `limit` notifications that are undelivered, due, and not
   * leased, oldest due first, for `leaseMs`, counting a delivery attempt on
   * each. `FOR UPDATE SKIP LOCKED` keeps concurrent claimers (other instances)
   * off each other's rows; the lease keeps a claimed row from being claimed
   * again until it expires — so two dispatchers never deliver one row at the
   * same time, and the rows of a dispatcher that died come back when their
   * lease ends.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
    if (limit <= 0) return [];
    return this.dataSource
      .query(
        `UPDATE notifications n SET attempts = n.attempts + 1, leased_until = clock_timestamp() + $2 * interval '1 millisecond'
       FROM (SELECT id FROM notifications
             WHERE delivered_at IS NULL AND next_attempt_at <= clock_timestamp() AND (leased_until IS NULL OR leased_until < clock_timestamp())
             ORDER BY next_attempt_at, created_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
       WHERE n.id = due.id
       RETURNING ${CLAIMED_COLUMNS}`,
        [limit, leaseMs],
      )
      .then((result: [ClaimedNotification[], number] | ClaimedNotification[]) => (isUpdateResult(result) ? result[0] : result));
  }

  /**
   * Records a delivery. The deliveries that finish in the same turn of the
   * event loop (a claimed round on a fast channel finishes together) are
   * recorded by one UPDATE; each caller's promise settles with it.
   */
  markDelivered(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.delivered.push({ id, resolve, reject });
      if (this.delivered.length === 1) setImmediate(() => void this.recordDelivered());
    });
  }

  private async recordDelivered(): Promise<void> {
    const batch = this.delivered.splice(0);
    try {
      await this.dataSource.query(
        `UPDATE notifications SET delivered_at = clock_timestamp(), leased_until = NULL, last_error = NULL WHERE id = ANY($1::uuid[])`,
        [batch.map((d) => d.id)],
      );
      for (const d of batch) d.resolve();
    } catch (error) {
      for (const d of batch) d.reject(error);
    }
  }

  /** A failed attempt: due again after `delayMs`. */
  async retryLater(id: string, delayMs: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE notifications SET leased_until = NULL, last_error = $3, next_attempt_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE id = $1`,
      [id, delayMs, error.slice(0, 2000)],
    );
  }

  /** An attempt cut short by a shutdown: due again at once, and not counted. */
  async release(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE notifications SET leased_until = NULL, attempts = greatest(attempts - 1, 0) WHERE id = $1`, [id]);
  }

  /**
   * Removes a dead-lettered notification and its event's inbox row, in one
   * transaction: the dead letter is then the only trace of it, and replaying
   * the dead letter records and delivers it again (channels that did deliver
   * keep their rows, and are not delivered again).
   */
  async removeDeadLettered(notification: Pick<ClaimedNotification, 'id' | 'eventId'>, consumerGroup: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`DELETE FROM notifications WHERE id = $1`, [notification.id]);
      await tx.query(`DELETE FROM inbox WHERE consumer = $1 AND event_id = $2`, [consumerGroup, notification.eventId]);
    });
  }
}

/** TypeORM answers an UPDATE … RETURNING with [rows, affected count]. */
function isUpdateResult(result: unknown): result is [ClaimedNotification[], number] {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number';
}
