import { IsCurrencyCode, IsEntityId, IsMinorUnits, IsReason } from './fields';

/** `payment.voided` v1 — a payment was voided and its refund recorded, after a `payment.void-requested`. */
export class PaymentVoidedV1 {
  /** The cancelled order; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** The voided payment. */
  @IsEntityId()
  readonly paymentId: string;

  /** Amount refunded, in minor units. */
  @IsMinorUnits()
  readonly amount: number;

  /** ISO 4217 currency of `amount`. */
  @IsCurrencyCode()
  readonly currency: string;

  /** Why, copied from the request, e.g. `payment_timeout`. */
  @IsReason()
  readonly reason: string;
}
