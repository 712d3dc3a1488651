import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1732250000200 implements MigrationInterface {
  name = 'CreatePayments1732250000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments (
        id             uuid        PRIMARY KEY,
        order_id       uuid        NOT NULL UNIQUE,
        status         text        NOT NULL CHECK (status IN ('AUTHORIZED', 'DECLINED')),
        reason         text,
        amount         bigint      NOT NULL CHECK (amount >= 0),
        currency       char(3)     NOT NULL,
        correlation_id text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payments`);
  }
}
