import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OrderStatus } from '../../domain/order';

export class OrderItemResponse {
  @ApiProperty({ example: 'BOOK-1' }) sku: string;
  @ApiProperty({ example: 2 }) quantity: number;
  @ApiProperty({ description: 'minor units', example: 1250 }) unitPrice: number;
}

/** An order as the API shows it. */
export class OrderResponse {
  @ApiProperty({ format: 'uuid', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' }) id: string;
  @ApiProperty({ enum: Object.values(OrderStatus), example: 'PENDING', description: 'PENDING until the payment outcome arrives' }) status: OrderStatus;
  @ApiProperty({ example: 'c-42' }) customerId: string;
  @ApiProperty({ type: [OrderItemResponse] }) items: OrderItemResponse[];
  @ApiProperty({ description: 'minor units: sum of quantity * unitPrice', example: 2500 }) totalAmount: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiPropertyOptional({ description: 'why it was cancelled (only on CANCELLED orders)', example: 'amount above the payment limit' }) reason?: string;
  @ApiProperty({ description: 'X-Correlation-Id of the request that placed it', example: 'checkout-7f3a' }) correlationId: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class OrderListResponse {
  @ApiProperty({ type: [OrderResponse], description: 'newest first' }) items: OrderResponse[];
  @ApiProperty({ example: 50 }) limit: number;
}
