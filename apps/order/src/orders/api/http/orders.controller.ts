import { ApiErrors, CorrelationId } from '@lib/service';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  Headers,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { IdempotencyConflictError } from '../../domain/order';
import { PlaceOrderHandler } from '../../application/place-order/place-order.handler';
import { OrderRecord } from '../../infrastructure/order.record';
import { ListOrdersQuery } from './list-orders.query';
import { OrderListResponse, OrderResponse } from './order.response';
import { PlaceOrderRequest } from './place-order.request';

/** Most characters an Idempotency-Key may have; a longer one was a 500 (the unique index refuses it). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly placeOrder: PlaceOrderHandler,
    private readonly dataSource: DataSource,
  ) {}

  /** Creates an order (201), or returns the one an earlier request with the same Idempotency-Key created (200). */
  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Places an order; the payment outcome arrives by event (poll GET /orders/{id})' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: `1..${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters. A retry with the same key and body returns the order of the first request (200); the same key with another body is a 409`,
    schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, example: 'checkout-7f3a-attempt' },
  })
  @ApiResponse({ status: 201, description: 'created', type: OrderResponse })
  @ApiResponse({ status: 200, description: 'an earlier request with this Idempotency-Key and body created it', type: OrderResponse })
  @ApiErrors([400, 'invalid body or Idempotency-Key'], [409, 'the Idempotency-Key was used with another body'])
  async create(
    @Body() body: PlaceOrderRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CorrelationId() correlationId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    try {
      const { order, created } = await this.placeOrder.execute({ ...body, correlationId, idempotencyKey: checkedIdempotencyKey(idempotencyKey) });
      if (!created) res.status(200);
      return toResponse(order);
    } catch (error) {
      if (error instanceof IdempotencyConflictError) throw new ConflictException(error.message);
      throw error;
    }
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order' })
  @ApiResponse({ status: 200, type: OrderResponse })
  @ApiErrors([400, 'the id is not a UUID v4'], [404, 'no order with that id'])
  async get(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    const order = await this.dataSource.getRepository(OrderRecord).findOneBy({ id });
    if (!order) throw new NotFoundException(`order ${id} not found`);
    return toResponse(order);
  }

  @Get()
  @ApiOperation({ summary: 'Orders, newest first, filtered by customer, status or correlation id' })
  @ApiResponse({ status: 200, type: OrderListResponse })
  @ApiErrors([400, 'invalid filter'])
  async list(@Query() query: ListOrdersQuery) {
    const orders = await this.dataSource.getRepository(OrderRecord).find({
      where: {
        ...(query.customerId && { customerId: query.customerId }),
        ...(query.status && { status: query.status }),
        ...(query.correlationId && { correlationId: query.correlationId }),
      },
      order: { createdAt: 'DESC' },
      take: query.limit,
    });
    return { items: orders.map(toResponse), limit: query.limit };
  }
}

/** 1..255 printable ASCII characters (space to tilde), or no header at all. */
function checkedIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) {
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: [`Idempotency-Key must be 1..${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (got ${key.length} characters)`],
    });
  }
  return key;
}

function toResponse(order: OrderRecord) {
  return {
    id: order.id,
    status: order.status,
    customerId: order.customerId,
    items: order.items,
    totalAmount: order.totalAmount,
    currency: order.currency,
    ...(order.statusReason ? { reason: order.statusReason } : {}),
    correlationId: order.correlationId,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
