import { Controller, Get, Query } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { NotificationRecord } from '../../infrastructure/notification.record';

class NotificationsQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUUID() orderId: string;
}

@Controller('notifications')
export class NotificationsController {
  constructor(private readonly dataSource: DataSource) {}

  /** The notifications of an order, oldest first. */
  @Get()
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
