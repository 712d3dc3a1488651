import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import * as pg from 'pg';
import { escapeLiteral } from 'pg';
import type { StatementWork } from '../event-context';

/** Anything that runs SQL: a DataSource (autocommit) or a transaction's EntityManager. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** A connection's own client (pg's), for a query in PostgreSQL's simple protocol: several statements, no parameters. */
export interface SimpleQueryClient {
  query(sql: string): Promise<unknown>;
}

/** One inbox row: which event this consumer handled, and where it was read. */
export interface InboxEntry {
  event: Pick<EventEnvelope, 'id' | 'type'>;
  message: Pick<ConsumedMessage, 'topic' | 'partition' | 'offset'>;
}

/**
 * The inbox of one consumer (group): the ids of the events it has handled.
 *
 * - `claim` is the guard: it inserts the rows in the transaction that also
 *   holds the handlers' effects, so "handled" and "effects done" commit
 *   together; a row that already exists means that event was handled before.
 * - `seen` is a cheap pre-check outside any transaction, so a redelivery does
 *   not run a handler's first phase (e.g. a gateway call) again. It is only
 *   an optimisation: between `seen` and `claim` another instance may handle
 *   the event, and `claim` is what decides.
 *
 * Keyed by (consumer group, event id): the event `id` is the contract's
 * deduplication key (the same event can arrive at another offset after a
 * relay retry or a replay), and keying by group lets several consumers share
 * one database. Both take many ids at once, for a batch of messages.
 */
export class InboxGuard {
  constructor(readonly consumer: string) {}

  /** Which of `eventIds` this consumer has handled already. */
  async seen(db: Queryable, eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = (await db.query(`SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])`, [this.consumer, eventIds])) as {
      event_id: string;
    }[];
    return new Set(rows.map((r) => r.event_id));
  }

  /** Inserts the rows in `tx` (one statement); resolves with the event ids that were new, i.e. not handled before. */
  async claim(tx: Queryable, entries: readonly InboxEntry[]): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const values: string[] = [];
    const parameters: unknown[] = [this.consumer];
    for (const { event, message } of entries) {
      const n = parameters.length;
      values.push(`($1, $${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`);
      parameters.push(event.id, event.type, message.topic, message.partition, message.offset);
    }
    const rows = (await tx.query(`${CLAIM_INTO} VALUES ${values.join(', ')} ${CLAIM_RETURNING}`, parameters)) as { event_id: string }[];
    return new Set(rows.map((r) => r.event_id));
  }

  /**
   * `work` and the inbox row of `entry` as one statement: `work`'s CTEs, then
   * the row, inserted only if `work`'s select returned a row; the statement
   * returns that select's rows. Sent alone it commits both or neither. An
   * event handled before makes it fail on the inbox's primary key
   * ({@link isClaimConflict}), and then nothing of it commits.
   */
  claimingStatement(work: Pick<StatementWork, 'with' | 'select' | 'parameters'>, { event, message }: InboxEntry): { sql: string; parameters: unknown[] } {
    const n = work.parameters.length;
    const sql =
      `WITH ${work.with ? `${work.with}, ` : ''}inbox_work AS (${work.select}), ` +
      `inbox_claim AS (${CLAIM_INTO} SELECT $${n + 1}::text, $${n + 2}::uuid, $${n + 3}::text, $${n + 4}::text, $${n + 5}::integer, $${n + 6}::bigint ` +
      `WHERE EXISTS (SELECT 1 FROM inbox_work)) SELECT * FROM inbox_work`;
    return { sql, parameters: [...work.parameters, this.consumer, event.id, event.type, message.topic, message.partition, message.offset] };
  }

  /** Whether `error` is the inbox's primary key refusing a row: the event was handled before. */
  isClaimConflict(error: unknown): boolean {
    const cause = (error as { driverError?: unknown })?.driverError ?? error;
    const { code, table, constraint } = (cause ?? {}) as { code?: string; table?: string; constraint?: string };
    return code === '23505' && (constraint === 'inbox_pkey' || table === 'inbox');
  }

  /**
   * Opens a transaction on `client`, claims the rows — failing if any was
   * claimed before — and runs `statements`, all in one round trip: a query of
   * PostgreSQL's simple protocol, the statements' parameters inlined as
   * escaped literals ({@link inlineParameters}). Resolves with each
   * statement's rows. The transaction stays open; after a failure it is
   * aborted (the caller rolls it back either way).
   */
  async openClaimAndRun(
    client: SimpleQueryClient,
    entries: readonly InboxEntry[],
    statements: readonly { sql: string; parameters: readonly unknown[] }[],
  ): Promise<unknown[][]> {
    const sql = [
      'START TRANSACTION',
      `${CLAIM_INTO} VALUES ${entries.map((entry) => this.literalRow(entry)).join(', ')}`,
      ...statements.map((statement) => inlineParameters(statement.sql, statement.parameters)),
    ].join('; ');
    const results = (await client.query(sql)) as { rows: unknown[] }[];
    return results.slice(2).map((result) => result.rows);
  }

  /**
   * Opens a transaction on `client` and claims the rows in it, in one round
   * trip: `START TRANSACTION` and the INSERT of {@link claim} as one query of
   * PostgreSQL's simple protocol, which carries several statements but no
   * parameters, so the values go as escaped literals. The transaction stays
   * open (also when the INSERT fails: the caller rolls it back).
   */
  async openAndClaim(client: SimpleQueryClient, entries: readonly InboxEntry[]): Promise<Set<string>> {
    if (entries.length === 0) throw new Error('openAndClaim needs at least one inbox entry');
    const values = entries.map((entry) => this.literalRow(entry));
    const results = (await client.query(`START TRANSACTION; ${CLAIM_INTO} VALUES ${values.join(', ')} ${CLAIM_RETURNING}`)) as [
      unknown,
      { rows: { event_id: string }[] },
    ];
    return new Set(results[1].rows.map((r) => r.event_id));
  }

  /** An inbox row's values as escaped literals, for a query of the simple protocol. */
  private literalRow({ event, message }: InboxEntry): string {
    return `(${[this.consumer, event.id, event.type, message.topic, String(message.partition), message.offset].map(escapeLiteral).join(', ')})`;
  }
}

/**
 * `sql` with its parameters `$1`, `$2`, … replaced by escaped literals, for a
 * query of the simple protocol (which takes none). A value becomes the text
 * pg itself would send for it (`prepareValue`: dates, arrays, JSON), quoted,
 * so its type is inferred from where it stands, as a parameter's is. Quoted
 * strings and identifiers in `sql` are left alone. Binary values are refused.
 */
export function inlineParameters(sql: string, parameters: readonly unknown[]): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g, (token, index?: string) => {
    if (index === undefined) return token;
    const n = Number(index);
    if (n < 1 || n > parameters.length) throw new Error(`no parameter $${n} (${parameters.length} given)`);
    const value = prepareValue(parameters[n - 1]);
    if (value === null || value === undefined) return 'NULL';
    if (typeof value !== 'string') throw new Error(`parameter $${n} is binary: it cannot be inlined`);
    return escapeLiteral(value);
  });
}

/** pg's own conversion of a parameter to the text it sends (exposed at runtime as `pg.utils`, not in its types). */
const prepareValue = (pg as unknown as { utils: { prepareValue(this: void, value: unknown): unknown } }).utils.prepareValue;

const CLAIM_INTO = `INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)`;
const CLAIM_RETURNING = `ON CONFLICT DO NOTHING RETURNING event_id`;
