import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateNotifications1732250000300 implements MigrationInterface {
  name = 'CreateNotifications1732250000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications (
        id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id       uuid        NOT NULL,
        event_type     text        NOT NULL,
        order_id       uuid        NOT NULL,
        channel        text        NOT NULL,
        subject        text        NOT NULL,
        body           text        NOT NULL,
        correlation_id text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (event_id, channel)
      )`);
    await q.query(`CREATE INDEX notifications_order_idx ON notifications (order_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications`);
  }
}
