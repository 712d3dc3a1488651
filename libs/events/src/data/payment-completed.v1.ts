import { IsCurrencyCode, IsEntityId, IsMinorUnits } from './fields';

/** `payment.completed` v1 — the payment for an order was authorised. */
export class PaymentCompletedV1 {
  /** The order paid for; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** The payment record's id in the payment service. */
  @IsEntityId()
  readonly paymentId: string;

  /** Amount authorised, in minor units. */
  @IsMinorUnits()
  readonly amount: number;

  /** ISO 4217 currency of `amount`. */
  @IsCurrencyCode()
  readonly currency: string;
}
