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

/** An `orders` row as raw SQL returns it (`RETURNING *`, column names, bigint as text) as an {@link OrderRecord}. */
export function orderFromRow(row: Record<string, unknown>): OrderRecord {
  return Object.assign(new OrderRecord(), {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items,
    totalAmount: Number(row.total_amount),
    currency: row.currency,
    correlationId: row.correlation_id,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    statusReason: row.status_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}
