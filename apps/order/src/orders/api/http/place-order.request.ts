import { IsCurrencyCode } from '@lib/events';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Length, Max, Min, ValidateNested } from 'class-validator';

export class OrderItemRequest {
  @IsString() @Length(1, 64) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
  @IsInt() @Min(0) unitPrice: number;
}

/** Body of `POST /orders`; unknown fields are rejected, not ignored. */
export class PlaceOrderRequest {
  @IsString() @Length(1, 64) customerId: string;

  /** The same rule as the `order.created` event, so an accepted request always makes a valid event. */
  @IsCurrencyCode()
  currency: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemRequest)
  items: OrderItemRequest[];
}
