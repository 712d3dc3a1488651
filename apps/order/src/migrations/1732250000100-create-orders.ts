import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1732250000100 implements MigrationInterface {
  name = 'CreateOrders1732250000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        id              uuid        PRIMARY KEY,
        customer_id     text        NOT NULL,
        status          text        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
        items           jsonb       NOT NULL,
        total_amount    bigint      NOT NULL CHECK (total_amount >= 0),
        currency        char(3)     NOT NULL,
        correlation_id  text        NOT NULL,
        idempotency_key text        UNIQUE,
        request_hash    text,
        status_reason   text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC)`);
    await q.query(`CREATE INDEX orders_status_idx ON orders (status, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE orders`);
  }
}
