import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Row of the `notifications` table: one per (event, channel), recorded in the
 * consumer's transaction and delivered afterwards by the dispatcher.
 */
@Entity({ name: 'notifications' })
export class NotificationRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId: string;

  @Column({ type: 'text' })
  channel: string;

  @Column({ type: 'text' })
  subject: string;

  @Column({ type: 'text' })
  body: string;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** When the channel accepted it; null while it is waiting for delivery. */
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  /** Delivery attempts started (counted when a dispatcher claims the row). */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  /** Claimed by a dispatcher until then; another dispatcher leaves it alone meanwhile. */
  @Column({ name: 'leased_until', type: 'timestamptz', nullable: true })
  leasedUntil: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** Where the event was read, for a dead letter's headers. */
  @Column({ name: 'source_topic', type: 'text', nullable: true })
  sourceTopic: string | null;

  @Column({ name: 'source_partition', type: 'integer', nullable: true })
  sourcePartition: number | null;

  @Column({ name: 'source_offset', type: 'bigint', nullable: true })
  sourceOffset: string | null;

  /** The event as it arrived: a dead letter's value, which a replay publishes again. */
  @Column({ name: 'event_payload', type: 'json', nullable: true })
  eventPayload: unknown;
}
