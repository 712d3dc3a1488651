import { IsCurrencyCode, MAX_CUSTOMER_ID_LENGTH, MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, MAX_SKU_LENGTH } from '@lib/events';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsObject, IsString, Length, Matches, Max, Min, ValidateBy, ValidateNested } from 'class-validator';

/**
 * No control characters (NUL, newlines, escapes): PostgreSQL refuses a NUL in
 * a `text` column, so without this rule such a request failed with a 500
 * after validation; the others have no business in an id or SKU either.
 */
export const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;
const noControlCharacters = { message: '$property must not contain control characters (NUL, newline, escape)' };

/**
 * The order total, sum of quantity × unitPrice, must stay a safe integer:
 * beyond 2^53 - 1 it loses precision and the `order.created` contract refuses
 * it (a 500 before this rule). Only checked once every line is well-formed;
 * a bad line is reported by its own rule.
 */
function HasSafeTotal(): PropertyDecorator {
  return ValidateBy({
    name: 'hasSafeTotal',
    validator: {
      validate: (items: unknown) => {
        if (!Array.isArray(items)) return true;
        const lines = items as Array<Partial<OrderItemRequest> | null>;
        if (!lines.every((l) => l && Number.isSafeInteger(l.quantity) && Number.isSafeInteger(l.unitPrice))) return true;
        const total = lines.reduce((sum, l) => sum + BigInt(l!.quantity!) * BigInt(l!.unitPrice!), 0n);
        return total <= BigInt(Number.MAX_SAFE_INTEGER);
      },
      defaultMessage: () => `$property: the order total (sum of quantity * unitPrice) must not exceed ${Number.MAX_SAFE_INTEGER} minor units`,
    },
  });
}

// The limits are the `order.created` contract's (libs/events), so an accepted
// request always makes a valid event. @ApiProperty repeats them for the
// OpenAPI document at /docs; the class-validator decorators are what is enforced.
export class OrderItemRequest {
  @ApiProperty({ minLength: 1, maxLength: MAX_SKU_LENGTH, example: 'BOOK-1' })
  @IsString()
  @Length(1, MAX_SKU_LENGTH)
  @Matches(NO_CONTROL_CHARACTERS, noControlCharacters)
  sku: string;

  @ApiProperty({ minimum: 1, maximum: MAX_ITEM_QUANTITY, example: 2 })
  @IsInt()
  @Min(1)
  @Max(MAX_ITEM_QUANTITY)
  quantity: number;

  @ApiProperty({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'minor units', example: 1250 })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  unitPrice: number;
}

/** Body of `POST /orders`; unknown fields are rejected, not ignored. */
export class PlaceOrderRequest {
  @ApiProperty({ minLength: 1, maxLength: MAX_CUSTOMER_ID_LENGTH, example: 'c-42' })
  @IsString()
  @Length(1, MAX_CUSTOMER_ID_LENGTH)
  @Matches(NO_CONTROL_CHARACTERS, noControlCharacters)
  customerId: string;

  @ApiProperty({ pattern: '^[A-Z]{3}$', description: 'ISO 4217', example: 'EUR' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({ type: [OrderItemRequest], minItems: 1, maxItems: MAX_ORDER_ITEMS, description: 'the total, sum of quantity * unitPrice, is at most 2^53 - 1' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ORDER_ITEMS)
  @HasSafeTotal()
  // ValidateNested alone lets an array through as a line (it validates the inner array's elements: `[[]]` has none).
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => OrderItemRequest)
  items: OrderItemRequest[];
}
