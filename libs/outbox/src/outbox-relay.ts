import { clientRefusedReason, isNotAMessageFault, OutgoingMessage } from '@lib/kafka';
import { Client, ClientConfig, Pool } from 'pg';
import { listenedPgClient } from './listened-pg-client';
import { idList } from './id-list';
import { RelayLease } from './relay-lease';

/** What the relay needs of a Kafka producer: send a batch, resolve when acknowledged. */
export interface OutboxPublisher {
  send(messages: readonly OutgoingMessage[]): Promise<unknown>;
}

export interface OutboxRelayLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface OutboxRelayOptions {
  /** PostgreSQL URL of the app's own database (the one holding `outbox`). */
  connectionString: string;
  /**
   * More settings of the relay's connections (TCP keepalive, statement and
   * idle-in-transaction timeouts; see libs/service's `databaseSessionSettings`).
   */
  connection?: Omit<ClientConfig, 'connectionString'>;
  /** Longest a backlog read may take before it fails (default 5000 ms). */
  backlogTimeoutMs?: number;
  publisher: OutboxPublisher;
  /** Rows read and published per round trip. Default 500. */
  batchSize?: number;
  /** Polling fallback when no NOTIFY arrives (e.g. lost while reconnecting). Default 1000 ms. */
  pollIntervalMs?: number;
  /** Failed publishes of one row before it is parked. Default 10. */
  maxAttempts?: number;
  /** Backoff after a failure: doubles from `initialBackoffMs` up to `maxBackoffMs`. Defaults 200 / 30000 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often a stand-by relay tries to become the active one. Default 2000 ms. */
  standbyRetryMs?: number;
  /**
   * How long the active relay's lease lasts after each renewal (ms). The active
   * relay renews it every round (at least every third of it); one that stops
   * renewing — frozen, stalled, cut off from its database — loses the
   * leadership this long after its last renewal. Also the relay connection's
   * query timeout. Default 15000 ms.
   */
  leaseMs?: number;
  /** Names the lease that elects the single active relay of a database (default `outbox`). */
  leaseName?: string;
  logger?: OutboxRelayLogger;
  /** Told about publishes and parked rows as they happen (metrics). */
  observer?: OutboxObserver;
}

/** Receives the relay's outcomes: publish latencies (row insert → broker ack) per acknowledged row, and each parked row. */
export interface OutboxObserver {
  onPublished(latenciesMs: readonly number[]): void;
  onParked(): void;
  /** Rows this relay had published when it found it had lost the lease: the new leader publishes them too (duplicates). */
  onDeposedLeaderRows?(rows: number): void;
  /** Rows Kafka acknowledged that this relay could not mark published (its database failed after the send): published again (duplicates). */
  onUnmarkedRows?(rows: number): void;
}

/** A pending row as the relay reads it (a type, not an interface: query rows must be records). */
type OutboxRow = {
  id: string;
  topic: string;
  message_key: string;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
  /** Epoch milliseconds (numbers, not Dates: parsing two timestamps per row costs the relay more than the figure is worth). */
  next_attempt_ms: number | null;
  created_ms: number;
};

/**
 * What the relay keeps of a row the broker acknowledged until its delete:
 * the id, and the insert time for the latency figure. Not the payload, which
 * would otherwise outlive its send by a round.
 */
type SentRow = Pick<OutboxRow, 'id' | 'created_ms'>;

/** Rows that may be published now, lowest ids first (see `readReady`). */
interface ReadyPage {
  ready: OutboxRow[];
  /** Whether more pending rows may follow: the page was full. */
  more: boolean;
  /** When the earliest row held back for a retry is due. */
  retryInMs?: number;
  /** Keys held back behind a row waiting for its retry or one that committed late: the rest of a streak holds them back too. */
  heldKeys: ReadonlySet<string>;
}

/** Where a streak's next read starts: after the last id sent, with the keys held so far, the batch in flight, and the acknowledged batch to delete in the same statement. */
interface ReadFrom {
  afterId: string;
  heldKeys: ReadonlySet<string>;
  inFlight: readonly SentRow[];
  acked?: readonly SentRow[];
}

/** What a round of a streak leaves to the next: its acknowledged batch to delete, and the next page, read meanwhile. */
interface Streak {
  acked: SentRow[];
  next: ReadyPage;
  rounds: number;
}

/** Counters and gauges of one relay, read by health checks and metrics. */
export interface OutboxRelayStats {
  active: boolean;
  publishedTotal: number;
  parkedTotal: number;
  failedPublishesTotal: number;
  /** Rows published by this relay after it had lost the lease (fenced: not marked published; the new leader publishes them again). */
  deposedLeaderRowsTotal: number;
  /** Rows Kafka acknowledged that this relay could not mark published because its database failed after the send: they stay, and are published again. */
  unmarkedRowsTotal: number;
  /** Fencing token of this relay's current leadership, null while it stands by. */
  leaseEpoch: string | null;
  lastPublishAt: Date | null;
  lastError: string | null;
}

export interface OutboxBacklog {
  pending: number;
  parked: number;
  oldestPendingAgeSeconds: number;
}

/** Default lease duration: fail-over within this plus `standbyRetryMs` of the leader's last renewal. */
export const DEFAULT_RELAY_LEASE_MS = 15_000;
/** Pages of `batchSize` rows one round reads past rows held back behind a retry. */
const MAX_PAGES_PER_ROUND = 10;
/** Rounds a streak of pipelined rounds lasts at most before the relay reads from the lowest pending id again. */
const MAX_STREAK_ROUNDS = 20;
const SELECT_PENDING = `SELECT id, topic, message_key, payload::text AS payload, headers, attempts,
    (extract(epoch FROM next_attempt_at) * 1000)::float8 AS next_attempt_ms, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms
  FROM outbox WHERE parked_at IS NULL`;

/**
 * Publishes committed outbox rows to Kafka.
 *
 * Guarantees:
 * - **Nothing skipped.** There is no "last seen id" cursor: every round reads
 *   the lowest pending ids, so a row whose transaction commits after a row with
 *   a larger id is simply picked up in a later round.
 * - **Per-key order.** One relay per database is active at a time: it holds
 *   a lease row (`outbox_relay_lease`, {@link RelayLease}) that it renews
 *   every round; the others stand by and take it over when it expires
 *   (`leaseMs` after the last renewal: a leader that is frozen, stalled or cut
 *   off loses it) or is released (graceful stop). The lease's epoch fences a
 *   deposed leader: it checks its lease before each send and marks rows
 *   published only under its epoch, so its late batch is left to the new
 *   leader and counted (`deposedLeaderRowsTotal`), at most two batches (the
 *   one being deleted and the one in flight).
 *   The active relay sends rows in id order through an
 *   idempotent producer with one request in flight, and holds back the later
 *   rows of a key whose earlier row is waiting for a retry.
 * - **At least once.** Rows are deleted only after the broker acknowledged
 *   them; a crash in between publishes those rows again, which the consumers'
 *   inbox absorbs. While a backlog streams, a batch is deleted during the
 *   send of the next, so at most two batches are duplicated per crash.
 * - **Poison rows do not block.** A row the broker keeps refusing while it
 *   accepts others is retried with backoff, then parked (`parked_at`), counted
 *   and logged. Meanwhile only the later rows of its own key wait; rows of
 *   other keys are published, even when held rows fill whole batches (the
 *   round reads further pages). A broker outage, and a broker that refuses
 *   the producer (SASL authentication, topic or cluster authorization), is
 *   nobody's fault: the relay backs off without counting attempts (the
 *   cause is in `stats().lastError` and `/health`), and new commits do not
 *   cut the backoff short. Parked rows stay counted in `backlog()` until
 *   released (`npm run outbox -- release <app>`).
 * - **Wake-up.** The active relay LISTENs for the NOTIFY the table's trigger
 *   sends at commit, and polls every `pollIntervalMs` in case one was lost.
 * - **Graceful stop.** `stop()` lets the batch in flight finish (ack and delete).
 *
 * See docs/adr/0003-outbox-relay.md for the trade-offs.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly standbyRetryMs: number;
  private readonly leaseMs: number;
  private readonly lease: RelayLease;
  private readonly logger: OutboxRelayLogger;

  private client: Client | null = null;
  /** One connection for the backlog gauge, however many probes and scrapes ask at once. */
  private backlogPool: Pool | null = null;
  private backlogInFlight: Promise<OutboxBacklog> | null = null;
  private leader = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: { done: () => void; onNotify: boolean } | null = null;
  private pendingWake = false;
  private failures = 0;
  private rounds = 0;
  private flushWaiters: { after: number; done: () => void }[] = [];
  /** Set between the rounds of a streak (see `publishBatch`). */
  private streak: Streak | null = null;
  private readonly counters: OutboxRelayStats = {
    active: false,
    publishedTotal: 0,
    parkedTotal: 0,
    failedPublishesTotal: 0,
    deposedLeaderRowsTotal: 0,
    unmarkedRowsTotal: 0,
    leaseEpoch: null,
    lastPublishAt: null,
    lastError: null,
  };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.standbyRetryMs = options.standbyRetryMs ?? 2000;
    this.leaseMs = options.leaseMs ?? DEFAULT_RELAY_LEASE_MS;
    this.lease = new RelayLease({ durationMs: this.leaseMs, name: options.leaseName });
    this.logger = options.logger ?? { log: () => undefined, warn: console.warn, error: console.error };
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /**
   * Finishes the batch in flight, releases leadership (so a stand-by takes over
   * at once) and closes the connection. With `flushWithinMs`, an active relay first publishes what is
   * pending (rows committed up to now, e.g. by handlers that just drained)
   * for up to that long; rows still waiting for a retry are left to the next
   * relay.
   */
  async stop(options: { flushWithinMs?: number } = {}): Promise<void> {
    if (options.flushWithinMs && this.loop && this.leader && !this.stopping) await this.flush(options.flushWithinMs);
    this.stopping = true;
    this.wake?.done();
    await this.loop;
    this.loop = null;
    if (this.client && this.leader) await this.lease.release(this.client).catch(() => undefined);
    await this.disconnect();
    const pool = this.backlogPool;
    this.backlogPool = null;
    await pool?.end().catch(() => undefined);
  }

  /** Resolves once a round that started after this call found nothing ready to publish, or after `timeoutMs`. */
  private async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const flushed = new Promise<void>((resolve) => this.flushWaiters.push({ after: this.rounds, done: resolve }));
    this.notify();
    await Promise.race([flushed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Called after each round: a flush is done at the first round with nothing to publish that began after the flush was asked for. */
  private roundDone(empty: boolean): void {
    const round = ++this.rounds;
    if (!empty || this.flushWaiters.length === 0) return;
    // Round `after + 1` may have begun before the flush was asked for; `after + 2` began after it.
    this.flushWaiters = this.flushWaiters.filter((w) => (round >= w.after + 2 ? void w.done() : true));
    if (this.flushWaiters.length > 0) this.notify();
  }

  stats(): OutboxRelayStats {
    return { ...this.counters, active: this.leader, leaseEpoch: this.leader ? this.lease.epoch : null };
  }

  /**
   * Backlog gauges, read from the table itself (works on a stand-by relay
   * too). Readiness probes and metrics scrapes call it, possibly many at
   * once: they share one query in flight, on one pooled connection that has
   * an error listener (a connection reset must not crash the process) and a
   * timeout. Never more than one connection, whatever the rate of probes.
   */
  backlog(): Promise<OutboxBacklog> {
    this.backlogInFlight ??= this.readBacklog().finally(() => (this.backlogInFlight = null));
    return this.backlogInFlight;
  }

  private async readBacklog(): Promise<OutboxBacklog> {
    const timeoutMs = this.options.backlogTimeoutMs ?? 5000;
    if (!this.backlogPool) {
      const pool = new Pool({
        ...this.options.connection,
        connectionString: this.options.connectionString,
        application_name: 'outbox-backlog',
        max: 1,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        Client: listenedPgClient((error) => this.logger.warn(`outbox backlog connection ended outside a query: ${errorMessage(error)}`)),
      });
      // An idle pooled connection that is terminated emits 'error' on the pool; the pool drops it and the next read connects again.
      pool.on('error', (error) => (this.counters.lastError = `backlog connection: ${errorMessage(error)}`));
      this.backlogPool = pool;
    }
    const { rows } = await this.backlogPool.query<{ pending: string; parked: string; age: number | null }>(`
      SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
             count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
             extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE parked_at IS NULL))::float8 AS age
      FROM outbox`);
    return { pending: Number(rows[0].pending), parked: Number(rows[0].parked), oldestPendingAgeSeconds: rows[0].age ?? 0 };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const client = await this.connected();
        if (!this.leader) {
          this.leader = await this.lease.acquire(client);
          if (!this.leader) {
            await this.idle(this.standbyRetryMs);
            continue;
          }
          // Only the active relay listens: stand-bys would otherwise wake at every commit.
          // Rows committed before LISTEN are read by the round that follows.
          await client.query('LISTEN outbox');
          this.logger.log(`outbox relay is the active relay of this database (lease epoch ${this.lease.epoch})`);
        } else if (this.lease.renewalDue() && !(await this.lease.renew(client))) {
          await this.stepDown(client, 'its lease expired before it renewed it');
          continue;
        }
        const { sent, full, retryInMs } = await this.publishBatch(client);
        this.failures = 0;
        this.roundDone(sent === 0);
        if (!this.leader) continue;
        if (full && sent > 0) continue;
        // Never idle past a renewal: the lease must not lapse while the relay merely waits.
        await this.idle(Math.min(retryInMs ?? this.pollIntervalMs, this.lease.renewEveryMs));
      } catch (error) {
        await this.recover(error);
      }
    }
    if (this.leader) await this.endStreak(this.client);
  }

  /**
   * One round: publish the lowest pending rows that may go, and delete them
   * once acknowledged.
   *
   * While a backlog streams (full pages), the database work overlaps the
   * send: during the send of this batch the relay deletes the previous,
   * acknowledged batch and reads the next page (the rows after this batch's
   * last id, holding back the same keys, and those of rows that committed
   * late below it: see {@link readAfter}). A streak is at most
   * {@link MAX_STREAK_ROUNDS} rounds; the round that ends it deletes its batch
   * before the next round reads from the lowest pending id again, so a row
   * that committed late with a small id waits at most one streak.
   */
  private async publishBatch(client: Client): Promise<{ sent: number; full: boolean; retryInMs?: number }> {
    const page = this.streak?.next ?? (await this.readReady(client));
    const acked = this.streak?.acked ?? [];
    const streakRounds = (this.streak?.rounds ?? 0) + 1;
    this.streak = null;
    const { ready, more, retryInMs } = page;
    if (ready.length === 0) {
      // The streak ran out of rows: its last batch is deleted before any round reads from the lowest id again.
      if (acked.length > 0) await this.markPublished(client, acked);
      return { sent: 0, full: false, retryInMs };
    }
    // Fencing before the send: a relay that was frozen or stalled since its last
    // renewal may have lost the lease meanwhile; it sends nothing on a stale one.
    if (!this.lease.holds() && !(await this.lease.renew(client))) {
      this.countDeposed(acked.length);
      await this.stepDown(client, 'its lease expired while it read a batch');
      return { sent: 0, full: false };
    }

    const streaming = more && streakRounds < MAX_STREAK_ROUNDS;
    const [sending, database] = await Promise.allSettled([
      this.send(ready.map(toMessage)),
      (async (): Promise<{ leader: boolean; next: ReadyPage | null }> => {
        if (streaming) {
          // The previous batch's delete and the next page go as one statement (null: the lease was lost).
          const next = await this.readReady(client, { afterId: ready[ready.length - 1].id, heldKeys: page.heldKeys, inFlight: ready, acked });
          return { leader: next !== null, next };
        }
        if (acked.length > 0 && !(await this.markPublished(client, acked))) return { leader: false, next: null };
        return { leader: true, next: null };
      })(),
    ]);
    if (database.status === 'rejected') {
      // This batch may be acknowledged, but the relay cannot delete it: whoever relays next publishes it again.
      if (sending.status === 'fulfilled') this.countUnmarked(ready.length);
      throw database.reason;
    }
    if (!database.value.leader) {
      // The previous batch's delete found the lease lost (the relay stepped down): this batch belongs to the new leader too.
      if (sending.status === 'fulfilled') this.countDeposed(ready.length);
      return { sent: 0, full: false };
    }

    let acknowledged: OutboxRow[];
    if (sending.status === 'fulfilled') {
      acknowledged = ready;
      if (database.value.next) {
        this.streak = { acked: ready.map(({ id, created_ms }) => ({ id, created_ms })), next: database.value.next, rounds: streakRounds };
        return { sent: ready.length, full: true, retryInMs };
      }
    } else {
      // An unreachable broker, or one that refuses this client (authentication, ACLs), is nobody's fault: back off, count nothing.
      if (isNotAMessageFault(sending.reason)) throw sending.reason;
      acknowledged = await this.publishOneByOne(client, ready);
    }
    if (acknowledged.length > 0 && !(await this.markPublished(client, acknowledged))) return { sent: 0, full: false };
    return { sent: acknowledged.length, full: more, retryInMs };
  }

  /** Deletes the batch a streak left acknowledged (when the relay stops between rounds). */
  private async endStreak(client: Client | null): Promise<void> {
    const acked = this.streak?.acked ?? [];
    this.streak = null;
    if (acked.length === 0) return;
    if (!client) return this.countUnmarked(acked.length);
    await this.markPublished(client, acked).catch(() => undefined);
  }

  private countUnmarked(rows: number): void {
    if (rows === 0) return;
    this.counters.unmarkedRowsTotal += rows;
    this.options.observer?.onUnmarkedRows?.(rows);
  }

  private countDeposed(rows: number): void {
    if (rows === 0) return;
    this.counters.deposedLeaderRowsTotal += rows;
    this.options.observer?.onDeposedLeaderRows?.(rows);
  }

  /**
   * Up to `batchSize` rows that may be published now, lowest ids first.
   *
   * A row waiting for its retry holds back every later row of its key, or they
   * would overtake it. Those held rows must not starve the other keys: when a
   * page yields fewer than `batchSize` ready rows the next page is read, up to
   * {@link MAX_PAGES_PER_ROUND} pages. Paging within a round is not a cursor:
   * every round starts again from the lowest pending id, so a row that commits
   * late with a small id is picked up by the next round — except the rounds
   * of a streak, which read `from` the last id sent, with the keys held back
   * so far (see `publishBatch`); the streak is bounded. Reading after an id
   * holds back the keys of rows that committed late below it (see
   * {@link readAfter}). With `from.acked`, the first page's statement also
   * deletes those acknowledged rows under the lease; null when it found the
   * lease lost (the relay has stepped down).
   */
  private async readReady(client: Client): Promise<ReadyPage>;
  private async readReady(client: Client, from: ReadFrom): Promise<ReadyPage | null>;
  private async readReady(client: Client, from?: ReadFrom): Promise<ReadyPage | null> {
    const now = Date.now();
    const waitingKeys = new Set<string>(from?.heldKeys);
    const ready: OutboxRow[] = [];
    let retryInMs: number | undefined;
    let afterId: string | null = from?.afterId ?? null;
    for (let page = 0; page < MAX_PAGES_PER_ROUND; page++) {
      const rows: OutboxRow[] | null =
        afterId === null
          ? (await client.query<OutboxRow>(`${SELECT_PENDING} ORDER BY id LIMIT $1`, [this.batchSize])).rows
          : await this.readAfter(client, afterId, [...(from?.inFlight ?? []), ...ready], waitingKeys, page === 0 ? from?.acked : undefined);
      if (rows === null) return null;
      for (const row of rows) {
        if (ready.length === this.batchSize) return { ready, more: true, retryInMs, heldKeys: waitingKeys };
        if (waitingKeys.has(row.message_key)) continue;
        if (row.next_attempt_ms !== null && row.next_attempt_ms > now) {
          waitingKeys.add(row.message_key);
          const dueIn = row.next_attempt_ms - now;
          retryInMs = Math.min(retryInMs ?? dueIn, dueIn);
          continue;
        }
        ready.push(row);
      }
      if (rows.length < this.batchSize) return { ready, more: false, retryInMs, heldKeys: waitingKeys };
      if (ready.length === this.batchSize) return { ready, more: true, retryInMs, heldKeys: waitingKeys };
      afterId = rows[rows.length - 1].id;
    }
    // Pages full of held rows: publish what was found, look further next round.
    return { ready, more: ready.length > 0, retryInMs, heldKeys: waitingKeys };
  }

  /**
   * The page of pending rows after `afterId` and, in the same snapshot, the
   * pending rows at or below it that are neither `taken` (in flight, or
   * collected this round) nor of a key held already: rows that committed
   * late with a smaller id. Their keys are added to `heldKeys`. A key's row
   * that commits after its late one has a larger id, so it is either beyond
   * this page or in it, and then the late row is visible here too: holding
   * the key keeps the later row from overtaking it, and the next round,
   * reading from the lowest id, publishes the late row first.
   *
   * With `acked`, the same statement deletes those acknowledged rows under
   * the lease (they count as taken: the read still sees them); null when the
   * lease was lost.
   */
  private async readAfter(
    client: Client,
    afterId: string,
    taken: readonly SentRow[],
    heldKeys: Set<string>,
    acked?: readonly SentRow[],
  ): Promise<OutboxRow[] | null> {
    const read = {
      sql: (first: number) => `(${SELECT_PENDING} AND id > $${first + 1} ORDER BY id LIMIT $${first})
       UNION ALL (${SELECT_PENDING} AND id <= $${first + 1} AND id <> ALL(string_to_array($${first + 2}, ',')::bigint[]) AND message_key <> ALL($${first + 3}::text[]))`,
      values: [this.batchSize, afterId, idList([...taken, ...(acked ?? [])].map((r) => r.id)), [...heldKeys]],
    };
    const rows = acked?.length ? await this.deleteAcknowledged(client, acked, read) : (await client.query<OutboxRow>(read.sql(1), read.values)).rows;
    if (rows === null) return null;
    const after = BigInt(afterId);
    const page: { row: OutboxRow; id: bigint }[] = [];
    let ordered = true;
    for (const row of rows) {
      const id = BigInt(row.id);
      if (id <= after) heldKeys.add(row.message_key);
      else if (page.push({ row, id }) > 1 && page[page.length - 2].id > id) ordered = false;
    }
    // UNION ALL promises no order; PostgreSQL returns the ordered page first, so this sort is a safeguard.
    if (!ordered) page.sort((a, b) => (a.id < b.id ? -1 : 1));
    return page.map((p) => p.row);
  }

  /**
   * The broker refused the batch but is reachable: find the culprit rows by
   * sending one at a time, count an attempt against each row that fails, and
   * hold back the rest of its key.
   */
  private async publishOneByOne(client: Client, rows: OutboxRow[]): Promise<OutboxRow[]> {
    const ok: OutboxRow[] = [];
    const failedKeys = new Set<string>();
    for (const row of rows) {
      if (failedKeys.has(row.message_key)) continue;
      try {
        await this.send([toMessage(row)]);
        ok.push(row);
      } catch (error) {
        if (isNotAMessageFault(error)) {
          // Keep what did get through; the outage is handled by the caller's backoff.
          if (ok.length > 0) await this.markPublished(client, ok);
          throw error;
        }
        failedKeys.add(row.message_key);
        await this.recordRowFailure(client, row, error);
      }
    }
    return ok;
  }

  /**
   * Deletes acknowledged rows under the lease (fenced by its epoch). False when
   * the lease was lost: the rows stay for the new leader, which publishes them
   * again — counted as rows published by a deposed leader — and this relay
   * steps down.
   */
  private async markPublished(client: Client, rows: readonly SentRow[]): Promise<boolean> {
    return (await this.deleteAcknowledged(client, rows)) !== null;
  }

  /** {@link markPublished}, reading `read`'s rows in the same statement (see `RelayLease.fencedDeleteThenRead`); null when the lease was lost. */
  private async deleteAcknowledged(
    client: Client,
    rows: readonly SentRow[],
    read?: { sql: (firstParam: number) => string; values: unknown[] },
  ): Promise<OutboxRow[] | null> {
    let outcome: { deleted: number | null; rows: OutboxRow[] };
    try {
      outcome = await this.lease.fencedDeleteThenRead<OutboxRow>(
        client,
        rows.map((r) => r.id),
        read,
      );
    } catch (error) {
      // Acknowledged, but still in the table: whoever relays next publishes them again.
      this.countUnmarked(rows.length);
      throw error;
    }
    if (outcome.deleted === null) {
      this.countDeposed(rows.length);
      await this.stepDown(client, `it had lost its lease when the broker acknowledged ${rows.length} rows; the new leader publishes them again (duplicates)`);
      return null;
    }
    this.record(rows);
    return outcome.rows;
  }

  /** Gives up the leadership this relay found it had lost: stands by again, without listening. */
  private async stepDown(client: Client, why: string): Promise<void> {
    this.countDeposed(this.streak?.acked.length ?? 0);
    this.streak = null;
    this.leader = false;
    this.lease.lost();
    this.logger.warn(`outbox relay is no longer the active relay of this database: ${why}`);
    await client.query('UNLISTEN outbox');
  }

  /** Sends through the publisher; what it throws is marked as Kafka's, so that the logs never blame Kafka for the database or the reverse. */
  private async send(messages: OutgoingMessage[]): Promise<void> {
    try {
      await this.options.publisher.send(messages);
    } catch (error) {
      throw new PublishError(error);
    }
  }

  private async recordRowFailure(client: Client, row: OutboxRow, error: unknown): Promise<void> {
    // A deposed leader does not touch the rows: they belong to the new leader.
    if (!this.lease.holds()) return;
    const attempts = row.attempts + 1;
    const message = errorMessage(error).slice(0, 2000);
    this.counters.failedPublishesTotal++;
    // The event id is read back for the log only: the relay does not read it with every row.
    if (attempts >= this.maxAttempts) {
      const { rows } = await client.query<{ event_id: string }>(
        `UPDATE outbox SET attempts = $2, last_error = $3, parked_at = clock_timestamp() WHERE id = $1 RETURNING event_id`,
        [row.id, attempts, message],
      );
      this.counters.parkedTotal++;
      this.options.observer?.onParked();
      this.logger.error(`outbox row ${row.id} (event ${rows[0]?.event_id}, ${row.topic}) parked after ${attempts} failed publishes: ${message}`);
      return;
    }
    const delay = this.backoff(attempts);
    const { rows } = await client.query<{ event_id: string }>(
      `UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = clock_timestamp() + $4 * interval '1 millisecond' WHERE id = $1 RETURNING event_id`,
      [row.id, attempts, message, delay],
    );
    this.logger.warn(`outbox row ${row.id} (event ${rows[0]?.event_id}) failed to publish (attempt ${attempts}), retry in ${delay} ms: ${message}`);
  }

  private record(rows: readonly SentRow[]): void {
    const ackAt = Date.now();
    this.counters.publishedTotal += rows.length;
    this.counters.lastPublishAt = new Date(ackAt);
    // Latencies go to the observer (a histogram in the apps), not to a buffer here.
    this.options.observer?.onPublished(rows.map((row) => ackAt - row.created_ms));
  }

  private async recover(error: unknown): Promise<void> {
    // A streak's acknowledged batch that could not be deleted: whoever relays next publishes it again.
    this.countUnmarked(this.streak?.acked.length ?? 0);
    this.streak = null;
    this.failures++;
    const message = errorMessage(error);
    this.counters.lastError = message;
    const delay = this.backoff(this.failures);
    const refused = clientRefusedReason(error);
    if (refused) {
      this.counters.lastError = `Kafka refuses the relay's producer: ${refused}`;
      this.logger.error(`outbox relay: Kafka refuses this client, ${refused}; no event is blamed, retrying in ${delay} ms`);
    } else if (error instanceof PublishError) {
      this.logger.warn(`outbox relay: Kafka unavailable (${message}); retrying in ${delay} ms`);
    } else {
      // Everything but the publish is the relay's own database: its connection, the reads, the deletes.
      this.logger.warn(`outbox relay: database unavailable or failing (${message}); reconnecting in ${delay} ms`);
      // Database trouble or anything unexpected: start over with a fresh
      // connection. Losing the connection also releases leadership.
      await this.disconnect();
    }
    // A backoff is not cut short by new rows: only stop() ends it. The active
    // relay (a broker outage) keeps renewing its lease meanwhile.
    const until = performance.now() + delay;
    for (let left = delay; left > 0 && !this.stopping; left = until - performance.now()) {
      await this.idle(Math.min(left, this.lease.renewEveryMs), false);
      if (this.leader && this.client && this.lease.renewalDue()) {
        try {
          if (!(await this.lease.renew(this.client))) await this.stepDown(this.client, 'its lease expired during a backoff');
        } catch {
          await this.disconnect();
        }
      }
    }
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(attempt - 1, 20));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    // A query that gets no answer within the lease (the database cut off without a reset) fails, and the relay reconnects as a stand-by.
    const client = new Client({
      ...this.options.connection,
      connectionString: this.options.connectionString,
      application_name: 'outbox-relay',
      keepAlive: true,
      query_timeout: this.leaseMs,
      connectionTimeoutMillis: this.leaseMs,
    });
    client.on('error', (error) => {
      // Emitted on a dropped idle connection; the next query fails and the loop recovers.
      this.counters.lastError = errorMessage(error);
    });
    client.on('notification', () => this.notify());
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leader = false;
    // Without a connection the relay cannot renew: the lease expires and a stand-by takes over.
    this.lease.lost();
    if (client) await endWithin(client, 2000);
  }

  private notify(): void {
    this.pendingWake = true;
    if (this.wake?.onNotify) this.wake.done();
  }

  /**
   * Sleeps until the timeout or `stop()`, and, when `onNotify`, until a NOTIFY
   * (one that arrived while the relay was busy counts too).
   */
  private idle(ms: number, onNotify = true): Promise<void> {
    if (this.stopping || (onNotify && this.pendingWake)) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        if (onNotify) this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = { done, onNotify };
    });
  }
}

/** An error of the Kafka publish (the cause keeps its kafkajs type for {@link isNotAMessageFault}). */
class PublishError extends Error {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
    this.name = 'PublishError';
  }
}

function toMessage(row: OutboxRow): OutgoingMessage {
  return { topic: row.topic, key: row.message_key, value: row.payload, headers: row.headers };
}

/** Ends a connection, destroying its socket when the goodbye gets no answer (a connection cut off without a reset). */
async function endWithin(client: Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const outcome = await Promise.race([
    client.end().then(
      () => 'ended' as const,
      () => 'ended' as const,
    ),
    timedOut,
  ]);
  clearTimeout(timer);
  if (outcome === 'timeout') (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
