import { SERVICE_ENV } from '@lib/service';
import { Body, Controller, Get, Inject, NotFoundException, Put, Query } from '@nestjs/common';
import { IsInt, IsNumber, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { PaymentEnv } from '../../../config/payment.env';
import { PaymentRecord } from '../../infrastructure/payment.record';
import { SimulatedPaymentGateway } from '../../infrastructure/simulated-payment.gateway';

class PaymentsQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUUID() orderId: string;
}

class SimulatorRequest {
  @ApiProperty({ required: false, minimum: 0, maximum: 1 })
  @IsOptional() @IsNumber() @Min(0) @Max(1) failureRate?: number;

  @ApiProperty({ required: false, minimum: 0, maximum: 600_000 })
  @IsOptional() @IsInt() @Min(0) @Max(600_000) latencyMs?: number;
}

@Controller()
export class PaymentsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly simulator: SimulatedPaymentGateway,
    @Inject(SERVICE_ENV) private readonly env: PaymentEnv,
  ) {}

  /** The payment(s) of an order: `AUTHORIZED` or `DECLINED` with the reason. */
  @Get('payments')
  async list(@Query() query: PaymentsQuery) {
    const payments = await this.dataSource.getRepository(PaymentRecord).findBy({ orderId: query.orderId });
    return {
      items: payments.map((p) => ({
        id: p.id,
        orderId: p.orderId,
        status: p.status,
        reason: p.reason,
        amount: p.amount,
        currency: p.currency,
        correlationId: p.correlationId,
        createdAt: p.createdAt,
      })),
    };
  }

  /** Changes the simulated gateway at run time; only with PAYMENT_SIMULATOR_CONTROL=true. */
  @Put('simulator')
  configure(@Body() body: SimulatorRequest) {
    if (!this.env.PAYMENT_SIMULATOR_CONTROL) throw new NotFoundException();
    return this.simulator.configure(body);
  }
}
