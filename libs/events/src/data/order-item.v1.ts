import { IsInt, Max, Min } from 'class-validator';
import { IsBoundedString, IsMinorUnits } from './fields';

/** Largest quantity of one SKU in one order line (`POST /orders` applies the same limit). */
export const MAX_ITEM_QUANTITY = 1000;

/** Longest stock keeping unit (`POST /orders` applies the same limit). */
export const MAX_SKU_LENGTH = 64;

/**
 * One line of an order inside `order.created` v1. Its own class (not an inline
 * type) because class-validator validates nested objects per class and the
 * JSON Schema generator emits it as a `$ref` definition.
 */
export class OrderItemV1 {
  /** Stock keeping unit, 1..64 characters. */
  @IsBoundedString(MAX_SKU_LENGTH)
  readonly sku: string;

  /** How many units, 1..1000. (Decorators apply bottom-up: the type check runs first.) */
  @Max(MAX_ITEM_QUANTITY)
  @Min(1)
  @IsInt()
  readonly quantity: number;

  /** Price of one unit in minor units of the order's currency. */
  @IsMinorUnits()
  readonly unitPrice: number;
}
