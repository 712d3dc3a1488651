import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateBy, ValidateNested, ValidationArguments } from 'class-validator';
import { IsBoundedString, IsCurrencyCode, IsEntityId, IsMinorUnits } from './fields';
import { MAX_ITEM_QUANTITY, OrderItemV1 } from './order-item.v1';

/** Most lines one order may have (`POST /orders` applies the same limit). */
export const MAX_ORDER_ITEMS = 100;

/** Longest customer id (`POST /orders` and `GET /orders?customerId=` apply the same limit). */
export const MAX_CUSTOMER_ID_LENGTH = 64;

/** Constraint name of the total check, also the key of its JSON Schema converter. */
export const IS_SUM_OF_ITEMS = 'isSumOfItems';

/**
 * Payment charges `totalAmount` without looking at the lines, so a total that
 * disagrees with them would charge the wrong amount. The check only runs once
 * the lines themselves are well-formed, so a bad line is reported once, by
 * its own rule. BigInt because the products may exceed the safe-integer range.
 */
function IsSumOfItems(): PropertyDecorator {
  return ValidateBy({
    name: IS_SUM_OF_ITEMS,
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const items = (args?.object as { items?: unknown } | undefined)?.items;
        if (!Number.isSafeInteger(value) || !Array.isArray(items)) return true;
        if (items.length < 1 || items.length > MAX_ORDER_ITEMS || !items.every(isWellFormedLine)) return true;
        const sum = items.reduce((acc: bigint, { quantity, unitPrice }) => acc + BigInt(quantity) * BigInt(unitPrice), 0n);
        return BigInt(value as number) === sum;
      },
      defaultMessage: () => '$property must equal the sum of quantity * unitPrice over items',
    },
  });
}

function isWellFormedLine(item: unknown): item is { quantity: number; unitPrice: number } {
  if (item === null || typeof item !== 'object') return false;
  const { quantity, unitPrice } = item as Record<string, unknown>;
  return (
    Number.isInteger(quantity) &&
    (quantity as number) >= 1 &&
    (quantity as number) <= MAX_ITEM_QUANTITY &&
    Number.isSafeInteger(unitPrice) &&
    (unitPrice as number) >= 0
  );
}

/**
 * `order.created` v1 — an order was accepted and is `PENDING`. Carries
 * everything payment needs to decide and notification needs to tell the
 * customer, so neither has to ask the order service.
 */
export class OrderCreatedV1 {
  /** The new order's id; also the Kafka key. */
  @IsEntityId()
  readonly orderId: string;

  /** Who placed the order, 1..64 characters. */
  @IsBoundedString(MAX_CUSTOMER_ID_LENGTH)
  readonly customerId: string;

  /** ISO 4217 currency of every amount in this event. */
  @IsCurrencyCode()
  readonly currency: string;

  /**
   * The order lines, 1..100. Decorators apply bottom-up and validation stops
   * at a field's first failure, so "must be an array" is checked first.
   */
  @ValidateNested({ each: true })
  @Type(() => OrderItemV1)
  @ArrayMaxSize(MAX_ORDER_ITEMS, { message: `$property must have at most ${MAX_ORDER_ITEMS} items` })
  @ArrayMinSize(1, { message: '$property must have at least 1 item' })
  @IsArray()
  readonly items: readonly OrderItemV1[];

  /** Sum of quantity × unitPrice over `items`, in minor units. */
  @IsSumOfItems()
  @IsMinorUnits()
  readonly totalAmount: number;
}
