import { IsCurrencyCode, IsEntityId, IsMinorUnits, IsReason } from './fields';

/**
 * `payment.void-requested` v1 — the order service asks the payment service to
 * void (refund) a payment that completed for an order already cancelled, e.g.
 * at its payment deadline (`payment_timeout`). Compensation of the saga: the
 * payment service voids it and publishes `payment.voided`.
 */
export class PaymentVoidRequestedV1 {
  /** The cancelled order; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** The payment to void, as `payment.completed` named it. */
  @IsEntityId()
  readonly paymentId: string;

  /** Amount to give back, in minor units (what `payment.completed` authorised). */
  @IsMinorUnits()
  readonly amount: number;

  /** ISO 4217 currency of `amount`. */
  @IsCurrencyCode()
  readonly currency: string;

  /** Why the order was cancelled, machine-readable, e.g. `payment_timeout`. */
  @IsReason()
  readonly reason: string;
}
