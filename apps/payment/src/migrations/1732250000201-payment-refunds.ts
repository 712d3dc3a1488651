import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Saga compensation: an authorised payment whose order was cancelled first
 * (e.g. at its payment deadline) is voided — status `VOIDED` — and its refund
 * recorded, one per payment.
 */
export class PaymentRefunds1732250000201 implements MigrationInterface {
  name = 'PaymentRefunds1732250000201';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_status_check`);
    await q.query(`ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('AUTHORIZED', 'DECLINED', 'VOIDED'))`);
    await q.query(`
      CREATE TABLE payment_refunds (
        payment_id     uuid        PRIMARY KEY REFERENCES payments (id),
        order_id       uuid        NOT NULL,
        amount         bigint      NOT NULL CHECK (amount >= 0),
        currency       char(3)     NOT NULL,
        reason         text        NOT NULL,
        correlation_id text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payment_refunds`);
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_status_check`);
    await q.query(`ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('AUTHORIZED', 'DECLINED'))`);
  }
}
