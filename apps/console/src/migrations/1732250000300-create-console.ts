import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The console's own tables: the dead letters it has read from the apps'
 * `<app>.dlq` topics (a copy, to filter and page through; Kafka stays the
 * source), and every operator action on them — who, when, what, the note.
 */
export class CreateConsole1732250000300 implements MigrationInterface {
  name = 'CreateConsole1732250000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dead_letters (
        id              text        PRIMARY KEY, -- <dlq topic>/<partition>@<offset>
        app             text        NOT NULL,
        topic           text        NOT NULL,
        partition       integer     NOT NULL,
        "offset"        bigint      NOT NULL,
        original_topic  text,
        consumer_group  text,
        error_kind      text,
        error_message   text,
        attempts        integer,
        failed_at       timestamptz NOT NULL,
        event_id        text,
        order_id        text,
        correlation_id  text,
        message_key     bytea,
        value           bytea,
        headers         jsonb       NOT NULL,
        received_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX dead_letters_failed_idx ON dead_letters (failed_at DESC, id)`);
    await q.query(`CREATE INDEX dead_letters_order_idx ON dead_letters (order_id)`);
    await q.query(`
      CREATE TABLE dead_letter_actions (
        id         bigserial   PRIMARY KEY,
        letter_id  text        NOT NULL REFERENCES dead_letters (id),
        action     text        NOT NULL CHECK (action IN ('replayed', 'discarded')),
        operator   text        NOT NULL,
        note       text,
        at         timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX dead_letter_actions_letter_idx ON dead_letter_actions (letter_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dead_letter_actions`);
    await q.query(`DROP TABLE dead_letters`);
  }
}
