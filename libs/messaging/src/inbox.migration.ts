import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox: one row per (consumer, event id) handled. The row is inserted in
 * the same transaction as the handler's effects, so "handled" and "effects
 * done" commit together, and a redelivered or replayed event finds its row
 * and has no second effect.
 */
export class CreateInbox1732250000001 implements MigrationInterface {
  name = 'CreateInbox1732250000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inbox (
        consumer     text        NOT NULL,
        event_id     uuid        NOT NULL,
        event_type   text        NOT NULL,
        topic        text        NOT NULL,
        kafka_partition integer  NOT NULL,
        kafka_offset bigint      NOT NULL,
        handled_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer, event_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE inbox`);
  }
}
