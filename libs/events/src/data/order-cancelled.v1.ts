import { IsCurrencyCode, IsEntityId, IsMinorUnits, IsReason } from './fields';

/** `order.cancelled` v1 — the order is `CANCELLED` (final), e.g. because payment was declined. */
export class OrderCancelledV1 {
  /** The order; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** Why, machine-readable, e.g. `limit_exceeded` (copied from `payment.failed`). */
  @IsReason()
  readonly reason: string;

  /** Total of the cancelled order, in minor units, so a notification can say what was not charged. */
  @IsMinorUnits()
  readonly totalAmount: number;

  /** ISO 4217 currency of `totalAmount`. */
  @IsCurrencyCode()
  readonly currency: string;
}
