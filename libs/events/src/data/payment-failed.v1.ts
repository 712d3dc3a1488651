import { IsCurrencyCode, IsEntityId, IsMinorUnits, IsReason } from './fields';

/** `payment.failed` v1 — the payment for an order was declined; the order will be cancelled. */
export class PaymentFailedV1 {
  /** The order that could not be paid; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** The (declined) payment record's id, kept so a decline is as traceable as a success. */
  @IsEntityId()
  readonly paymentId: string;

  /** Amount that was asked for, in minor units. */
  @IsMinorUnits()
  readonly amount: number;

  /** ISO 4217 currency of `amount`. */
  @IsCurrencyCode()
  readonly currency: string;

  /** Why, machine-readable, e.g. `limit_exceeded`. */
  @IsReason()
  readonly reason: string;
}
