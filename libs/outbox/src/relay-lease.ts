import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { idList } from './id-list';

/** What the lease needs of a connection: a query (a `pg.Client`). */
export interface LeaseConnection {
  query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface RelayLeaseOptions {
  /** How long a lease lasts after each renewal (ms). The leader renews it every round; a leader that stops renewing loses it this long after its last renewal. */
  durationMs: number;
  /** Names the lease (one row per name in `outbox_relay_lease`). */
  name?: string;
  /** Who holds it, for people reading the table (default `<host>:<pid>:<random>`). */
  holder?: string;
}

/**
 * Leadership of a database's outbox relay as a lease row with an expiry and a
 * fencing token, instead of a session advisory lock that lives as long as the
 * leader's session (see docs/adr/0015-relay-lease.md).
 *
 * - `acquire` takes the row when it is free or expired and bumps its `epoch`:
 *   every leadership has an epoch larger than every earlier one.
 * - `renew` extends the expiry only while the row still carries this leader's
 *   epoch; the relay renews at every round, so a leader that stops working
 *   (frozen, stalled, cut off) loses the lease `durationMs` after its last
 *   renewal, measured by the database's clock, and a stand-by takes it.
 * - `holds()` is the leader's own view, on its monotonic clock, started
 *   *before* the renewal was sent: the lease certainly has not expired in the
 *   database while it answers true. The relay asks it right before a send, so
 *   a leader that wakes up from a freeze does not publish on a stale lease.
 * - `fencedDelete` marks rows published (deletes them) only under this
 *   leader's epoch, renewing the lease in the same statement; rows a deposed
 *   leader sent anyway are left to the current leader and reported as
 *   published by a deposed leader (duplicates).
 */
export class RelayLease {
  readonly name: string;
  readonly holder: string;
  private currentEpoch: string | null = null;
  /** Monotonic time (ms) until which the lease is certainly ours. */
  private validUntil = 0;

  constructor(private readonly options: RelayLeaseOptions) {
    this.name = options.name ?? 'outbox';
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** The fencing token of the current leadership, null when not leading. */
  get epoch(): string | null {
    return this.currentEpoch;
  }

  /** How often the leader renews: a third of the duration, so two renewals may fail or be late before the lease lapses. */
  get renewEveryMs(): number {
    return Math.max(1, Math.floor(this.options.durationMs / 3));
  }

  /** Whether the last renewal is a third of the duration old or more (or the lease is not held). */
  renewalDue(): boolean {
    return this.validUntil - performance.now() <= this.options.durationMs - this.renewEveryMs;
  }

  /** Whether the lease is certainly still ours (own monotonic clock, with the renewal's round trip on our side). */
  holds(): boolean {
    return this.currentEpoch !== null && performance.now() < this.validUntil;
  }

  /** Takes the lease if it is free or expired (or already ours); true when this relay now leads. */
  async acquire(connection: LeaseConnection): Promise<boolean> {
    const sentAt = performance.now();
    const { rows } = await connection.query<{ epoch: string }>(
      `INSERT INTO outbox_relay_lease AS l (name, holder, epoch, expires_at)
         VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE
         SET holder = EXCLUDED.holder, epoch = l.epoch + 1, acquired_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
         WHERE l.expires_at < clock_timestamp() OR l.holder = EXCLUDED.holder
       RETURNING epoch::text AS epoch`,
      [this.name, this.holder, this.options.durationMs],
    );
    if (rows.length === 0) {
      this.lost();
      return false;
    }
    this.currentEpoch = rows[0].epoch;
    this.validUntil = sentAt + this.options.durationMs;
    return true;
  }

  /** Extends the lease; false (and no longer leading) when another relay took it meanwhile. */
  async renew(connection: LeaseConnection): Promise<boolean> {
    if (this.currentEpoch === null) return false;
    const sentAt = performance.now();
    const { rowCount } = await connection.query(
      `UPDATE outbox_relay_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE name = $1 AND epoch = $2 AND expires_at >= clock_timestamp()`,
      [this.name, this.currentEpoch, this.options.durationMs],
    );
    if (rowCount !== 1) {
      this.lost();
      return false;
    }
    this.validUntil = sentAt + this.options.durationMs;
    return true;
  }

  /**
   * Deletes the rows `ids` (published and acknowledged) if this relay still
   * holds the lease, renewing it in the same statement. Returns how many rows
   * it deleted, or null when the lease was lost: nothing was deleted, and the
   * rows stay for the current leader to publish (again).
   */
  async fencedDelete(connection: LeaseConnection, ids: readonly string[]): Promise<number | null> {
    return (await this.fencedDeleteThenRead(connection, ids)).deleted;
  }

  /**
   * {@link fencedDelete}, and in the same statement the rows of `read`: a
   * SELECT, its text built for parameters numbered from `firstParam` on. It
   * sees the table as the
   * statement began (the rows being deleted are still there), and returns
   * rows only while the lease is held. One round trip where the relay would
   * otherwise wait for the delete before it reads.
   */
  async fencedDeleteThenRead<R extends Record<string, unknown>>(
    connection: LeaseConnection,
    ids: readonly string[],
    read?: { sql: (firstParam: number) => string; values: unknown[] },
  ): Promise<{ deleted: number | null; rows: R[] }> {
    if (this.currentEpoch === null) return { deleted: null, rows: [] };
    const sentAt = performance.now();
    const fence = `WITH lease AS (
         UPDATE outbox_relay_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
         WHERE name = $1 AND epoch = $2 AND expires_at >= clock_timestamp()
         RETURNING epoch
       ), gone AS (
         DELETE FROM outbox WHERE id = ANY(string_to_array($4, ',')::bigint[]) AND EXISTS (SELECT 1 FROM lease) RETURNING id
       ), fence AS (
         SELECT EXISTS (SELECT 1 FROM lease) AS fence_held, (SELECT count(*) FROM gone)::int AS fence_deleted
       )`;
    const { rows } = await connection.query<{ fence_held: boolean; fence_deleted: number; page_row?: boolean } & R>(
      read
        ? `${fence} SELECT * FROM fence LEFT JOIN (SELECT true AS page_row, r.* FROM (${read.sql(5)}) r) page ON fence_held`
        : `${fence} SELECT * FROM fence`,
      [this.name, this.currentEpoch, this.options.durationMs, idList(ids), ...(read?.values ?? [])],
    );
    if (!rows[0].fence_held) {
      this.lost();
      return { deleted: null, rows: [] };
    }
    this.validUntil = sentAt + this.options.durationMs;
    // A read that found nothing still yields the fence's row, with no page_row.
    return { deleted: rows[0].fence_deleted, rows: rows.length === 1 && !rows[0].page_row ? [] : rows };
  }

  /** Gives the lease up (graceful stop), so that a stand-by takes over at its next try instead of after the expiry. */
  async release(connection: LeaseConnection): Promise<void> {
    const epoch = this.currentEpoch;
    this.lost();
    if (epoch === null) return;
    await connection.query(`UPDATE outbox_relay_lease SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE name = $1 AND epoch = $2`, [
      this.name,
      epoch,
    ]);
  }

  /** Forgets the leadership locally (the connection broke, or the lease was found lost). */
  lost(): void {
    this.currentEpoch = null;
    this.validUntil = 0;
  }
}
