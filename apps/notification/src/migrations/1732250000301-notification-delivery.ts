import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications are delivered after their consumer's transaction committed,
 * from the rows (a dispatcher), no longer inside it. Each row gets its
 * delivery state — delivered or not, attempts, when it is due again, a lease
 * that keeps two dispatchers off one row, the last error — and what a dead
 * letter needs: the event as it arrived and where it was read.
 *
 * Rows written before this migration were delivered inside their consumer's
 * transaction, so they are marked delivered.
 */
export class NotificationDelivery1732250000301 implements MigrationInterface {
  name = 'NotificationDelivery1732250000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE notifications
        ADD COLUMN delivered_at     timestamptz,
        ADD COLUMN attempts         integer     NOT NULL DEFAULT 0,
        ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN leased_until     timestamptz,
        ADD COLUMN last_error       text,
        ADD COLUMN source_topic     text,
        ADD COLUMN source_partition integer,
        ADD COLUMN source_offset    bigint,
        ADD COLUMN event_payload    json`);
    await q.query(`UPDATE notifications SET delivered_at = created_at`);
    await q.query(`CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE delivered_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX notifications_due_idx`);
    await q.query(`
      ALTER TABLE notifications
        DROP COLUMN delivered_at, DROP COLUMN attempts, DROP COLUMN next_attempt_at, DROP COLUMN leased_until, DROP COLUMN last_error,
        DROP COLUMN source_topic, DROP COLUMN source_partition, DROP COLUMN source_offset, DROP COLUMN event_payload`);
  }
}
