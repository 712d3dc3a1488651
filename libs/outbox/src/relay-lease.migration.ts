import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The relay's lease (libs/outbox RelayLease): one row per outbox, held by the
 * active relay until `expires_at`, with `epoch` bumped at every change of
 * leader (the fencing token). Replaces the session advisory lock, which a
 * frozen or cut-off leader kept for as long as its session lived.
 */
export class OutboxRelayLease1732250000002 implements MigrationInterface {
  name = 'OutboxRelayLease1732250000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_relay_lease (
        name        text        PRIMARY KEY,
        holder      text        NOT NULL,
        epoch       bigint      NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at  timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox_relay_lease`);
  }
}
