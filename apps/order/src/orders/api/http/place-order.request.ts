import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';

export class OrderItemRequest {
  @IsString() @Length(1, 64) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
  @IsInt() @Min(0) unitPrice: number;
}

/** Body of `POST /orders`; unknown fields are rejected, not ignored. */
export class PlaceOrderRequest {
  @IsString() @Length(1, 64) customerId: string;

  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemRequest)
  items: OrderItemRequest[];
}
