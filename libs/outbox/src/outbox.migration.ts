import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox table every producing app owns in its own database.
 *
 * - `id` orders rows within a key: the relay publishes pending rows in `id`
 *   order and a single active relay per database (a lease, see
 *   relay-lease.ts) keeps that
 *   order on the wire.
 * - Published rows are deleted, so the table holds only the backlog.
 * - A statement-level trigger NOTIFYs the relay; PostgreSQL delivers the
 *   notification at commit, never for a rolled-back transaction.
 */
export class CreateOutbox1732250000000 implements MigrationInterface {
  name = 'CreateOutbox1732250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox (
        id              bigserial PRIMARY KEY,
        event_id        uuid        NOT NULL UNIQUE,
        event_type      text        NOT NULL,
        topic           text        NOT NULL,
        message_key     text        NOT NULL,
        payload         json        NOT NULL, -- json, not jsonb: published byte for byte as written
        headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error      text,
        parked_at       timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_pending_idx ON outbox (id) WHERE parked_at IS NULL`);
    await q.query(`
      CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('outbox', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
      FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
    await q.query(`DROP FUNCTION outbox_notify()`);
  }
}
