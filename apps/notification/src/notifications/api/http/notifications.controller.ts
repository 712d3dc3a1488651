import { Controller, Get, Query } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiErrors } from '@lib/service';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { NotificationRecord } from '../../infrastructure/notification.record';

class NotificationsQuery {
  @ApiProperty({ format: 'uuid', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' })
  @IsUUID()
  orderId: string;
}

class NotificationResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' }) orderId: string;
  @ApiProperty({ format: 'uuid', description: 'the event it was sent for' }) eventId: string;
  @ApiProperty({ example: 'order.confirmed' }) eventType: string;
  @ApiProperty({ example: 'email' }) channel: string;
  @ApiProperty({ example: 'Your order is confirmed' }) subject: string;
  @ApiProperty({ example: 'Order 0b6f7c1e… for 25.00 EUR is confirmed.' }) body: string;
  @ApiProperty({ example: 'checkout-7f3a' }) correlationId: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'null until delivered' }) deliveredAt: Date | null;
}

class NotificationListResponse {
  @ApiProperty({ type: [NotificationResponse], description: 'oldest first' }) items: NotificationResponse[];
}

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly dataSource: DataSource) {}

  /** The notifications of an order, oldest first. */
  @Get()
  @ApiOperation({ summary: 'The notifications of an order, oldest first' })
  @ApiResponse({ status: 200, type: NotificationListResponse })
  @ApiErrors([400, 'orderId missing or not a UUID'])
  async list(@Query() query: NotificationsQuery) {
    const rows = await this.dataSource.getRepository(NotificationRecord).find({ where: { orderId: query.orderId }, order: { createdAt: 'ASC' } });
    return {
      items: rows.map((n) => ({
        id: n.id,
        orderId: n.orderId,
        eventId: n.eventId,
        eventType: n.eventType,
        channel: n.channel,
        subject: n.subject,
        body: n.body,
        correlationId: n.correlationId,
        createdAt: n.createdAt,
        deliveredAt: n.deliveredAt,
      })),
    };
  }
}
