import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { PaymentStatus } from '../domain/payment';

/** Row of the `payments` table; `order_id` is unique: one payment per order. */
@Entity({ name: 'payments' })
export class PaymentRecord {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'order_id', type: 'uuid', unique: true })
  orderId: string;

  @Column({ type: 'text' })
  status: PaymentStatus;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
