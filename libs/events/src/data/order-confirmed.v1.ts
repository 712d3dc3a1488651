import { IsCurrencyCode, IsEntityId, IsMinorUnits } from './fields';

/** `order.confirmed` v1 — payment was authorised and the order is `CONFIRMED` (final). */
export class OrderConfirmedV1 {
  /** The order; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** The payment that settled the order, so a reader can find it via `GET /payments`. */
  @IsEntityId()
  readonly paymentId: string;

  /** Amount charged, in minor units. */
  @IsMinorUnits()
  readonly totalAmount: number;

  /** ISO 4217 currency of `totalAmount`. */
  @IsCurrencyCode()
  readonly currency: string;
}
