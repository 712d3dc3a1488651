import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { OrderItem, OrderStatus } from '../domain/order';

/** Row of the `orders` table. */
@Entity({ name: 'orders' })
export class OrderRecord {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId: string;

  @Column({ type: 'text' })
  status: OrderStatus;

  @Column({ type: 'jsonb' })
  items: OrderItem[];

  @Column({ name: 'total_amount', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  totalAmount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId: string;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true, unique: true })
  idempotencyKey: string | null;

  /** SHA-256 of the request body, to tell a retry from a different request under the same key. */
  @Column({ name: 'request_hash', type: 'text', nullable: true })
  requestHash: string | null;

  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
