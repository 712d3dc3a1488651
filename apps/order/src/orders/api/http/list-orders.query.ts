import { MAX_CUSTOMER_ID_LENGTH } from '@lib/events';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { OrderStatus } from '../../domain/order';
import { NO_CONTROL_CHARACTERS } from './place-order.request';

export class ListOrdersQuery {
  @ApiPropertyOptional({ minLength: 1, maxLength: MAX_CUSTOMER_ID_LENGTH })
  @IsOptional()
  @IsString()
  @Length(1, MAX_CUSTOMER_ID_LENGTH)
  @Matches(NO_CONTROL_CHARACTERS, { message: '$property must not contain control characters' })
  customerId?: string;

  /** The correlation id the order was placed with (the ops console's journey search). */
  @ApiPropertyOptional({ minLength: 1, maxLength: 128 })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  correlationId?: string;

  @ApiPropertyOptional({ enum: Object.values(OrderStatus) })
  @IsOptional()
  @IsIn(Object.values(OrderStatus))
  status?: OrderStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
}
