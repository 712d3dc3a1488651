import { IsCurrencyCode, MAX_CUSTOMER_ID_LENGTH, MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, MAX_SKU_LENGTH } from '@lib/events';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Length, Max, Min, ValidateNested } from 'class-validator';

// The limits are the `order.created` contract's (libs/events), so an accepted
// request always makes a valid event. @ApiProperty repeats them for the
// OpenAPI document at /docs; the class-validator decorators are what is enforced.
export class OrderItemRequest {
  @ApiProperty({ minLength: 1, maxLength: MAX_SKU_LENGTH, example: 'BOOK-1' })
  @IsString() @Length(1, MAX_SKU_LENGTH) sku: string;

  @ApiProperty({ minimum: 1, maximum: MAX_ITEM_QUANTITY, example: 2 })
  @IsInt() @Min(1) @Max(MAX_ITEM_QUANTITY) quantity: number;

  @ApiProperty({ minimum: 0, description: 'minor units', example: 1250 })
  @IsInt() @Min(0) unitPrice: number;
}

/** Body of `POST /orders`; unknown fields are rejected, not ignored. */
export class PlaceOrderRequest {
  @ApiProperty({ minLength: 1, maxLength: MAX_CUSTOMER_ID_LENGTH, example: 'c-42' })
  @IsString() @Length(1, MAX_CUSTOMER_ID_LENGTH) customerId: string;

  @ApiProperty({ pattern: '^[A-Z]{3}$', description: 'ISO 4217', example: 'EUR' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({ type: [OrderItemRequest], minItems: 1, maxItems: MAX_ORDER_ITEMS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ORDER_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => OrderItemRequest)
  items: OrderItemRequest[];
}
