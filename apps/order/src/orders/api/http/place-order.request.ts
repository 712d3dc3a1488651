import { IsCurrencyCode } from '@lib/events';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Length, Max, Min, ValidateNested } from 'class-validator';

// @ApiProperty repeats the rules for the OpenAPI document at /docs; the
// class-validator decorators are what is enforced.
export class OrderItemRequest {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'BOOK-1' })
  @IsString() @Length(1, 64) sku: string;

  @ApiProperty({ minimum: 1, maximum: 1000, example: 2 })
  @IsInt() @Min(1) @Max(1000) quantity: number;

  @ApiProperty({ minimum: 0, description: 'minor units', example: 1250 })
  @IsInt() @Min(0) unitPrice: number;
}

/** Body of `POST /orders`; unknown fields are rejected, not ignored. */
export class PlaceOrderRequest {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'c-42' })
  @IsString() @Length(1, 64) customerId: string;

  /** The same rule as the `order.created` event, so an accepted request always makes a valid event. */
  @ApiProperty({ pattern: '^[A-Z]{3}$', description: 'ISO 4217', example: 'EUR' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({ type: [OrderItemRequest], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemRequest)
  items: OrderItemRequest[];
}
