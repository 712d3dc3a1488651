import { ApiErrors, SERVICE_ENV } from '@lib/service';
import { Body, Controller, Get, Inject, NotFoundException, Put, Query } from '@nestjs/common';
import { IsInt, IsNumber, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { PaymentEnv } from '../../../config/payment.env';
import { PaymentStatus } from '../../domain/payment';
import { PaymentRecord } from '../../infrastructure/payment.record';
import { SimulatedPaymentGateway } from '../../infrastructure/simulated-payment.gateway';

class PaymentsQuery {
  @ApiProperty({ format: 'uuid', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' })
  @IsUUID()
  orderId: string;
}

class SimulatorRequest {
  @ApiPropertyOptional({ minimum: 0, maximum: 1, example: 0.1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  failureRate?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 600_000, example: 50 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  latencyMs?: number;
}

class PaymentResponse {
  @ApiProperty({ format: 'uuid', example: '5d0c7a52-1f4e-4b8e-a1c2-7e9f0a1b2c3d' }) id: string;
  @ApiProperty({ format: 'uuid', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' }) orderId: string;
  @ApiProperty({ enum: Object.values(PaymentStatus), example: 'AUTHORIZED' }) status: PaymentStatus;
  @ApiProperty({ type: String, nullable: true, description: 'why it was declined', example: null }) reason: string | null;
  @ApiProperty({ description: 'minor units', example: 2500 }) amount: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiProperty({ example: 'checkout-7f3a' }) correlationId: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
}

class PaymentListResponse {
  @ApiProperty({ type: [PaymentResponse] }) items: PaymentResponse[];
}

class SimulatorSettingsResponse {
  @ApiProperty({ minimum: 0, maximum: 1, example: 0.1 }) failureRate: number;
  @ApiProperty({ minimum: 0, example: 50 }) latencyMs: number;
}

@ApiTags('payments')
@Controller()
export class PaymentsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly simulator: SimulatedPaymentGateway,
    @Inject(SERVICE_ENV) private readonly env: PaymentEnv,
  ) {}

  /** The payment(s) of an order: `AUTHORIZED` or `DECLINED` with the reason. */
  @Get('payments')
  @ApiOperation({ summary: 'The payment(s) of an order' })
  @ApiResponse({ status: 200, type: PaymentListResponse })
  @ApiErrors([400, 'orderId missing or not a UUID'])
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
  @ApiOperation({ summary: 'Changes the simulated gateway (failure rate, latency); only with PAYMENT_SIMULATOR_CONTROL=true' })
  @ApiResponse({ status: 200, description: 'the settings now in force', type: SimulatorSettingsResponse })
  @ApiErrors([400, 'a value out of range'], [404, 'PAYMENT_SIMULATOR_CONTROL is not true'])
  configure(@Body() body: SimulatorRequest) {
    if (!this.env.PAYMENT_SIMULATOR_CONTROL) throw new NotFoundException();
    return this.simulator.configure(body);
  }
}
