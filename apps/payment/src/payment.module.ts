import { SERVICE_ENV, ServiceMetrics, ServiceModule } from '@lib/service';
import { Module } from '@nestjs/common';
import { PaymentEnv } from './config/payment.env';
import { paymentService } from './payment.definition';
import { AuthorizePaymentHandler } from './payments/application/authorize-payment/authorize-payment.handler';
import { VoidPaymentHandler } from './payments/application/void-payment/void-payment.handler';
import { PaymentsController } from './payments/api/http/payments.controller';
import { OrderEventsConsumer } from './payments/api/messaging/order-events.consumer';
import { PAYMENT_GATEWAY } from './payments/domain/payment';
import { registerBreakerStateMetric } from './payments/infrastructure/breaker-state.metric';
import { ResilientPaymentGateway } from './payments/infrastructure/resilient-payment.gateway';
import { SimulatedPaymentGateway } from './payments/infrastructure/simulated-payment.gateway';

@Module({
  imports: [ServiceModule.forApp(paymentService)],
  controllers: [PaymentsController, OrderEventsConsumer],
  providers: [
    AuthorizePaymentHandler,
    VoidPaymentHandler,
    {
      provide: SimulatedPaymentGateway,
      useFactory: (env: PaymentEnv) =>
        new SimulatedPaymentGateway(env.PAYMENT_MAX_AMOUNT, { failureRate: env.PAYMENT_GATEWAY_FAILURE_RATE, latencyMs: env.PAYMENT_GATEWAY_LATENCY_MS }),
      inject: [SERVICE_ENV],
    },
    {
      // A real provider's adapter replaces the simulator here; the resilience wrapper stays.
      provide: PAYMENT_GATEWAY,
      useFactory: (env: PaymentEnv, simulator: SimulatedPaymentGateway, metrics: ServiceMetrics) => {
        const gateway = new ResilientPaymentGateway(simulator, {
          timeoutMs: env.PAYMENT_GATEWAY_TIMEOUT_MS,
          retries: env.PAYMENT_GATEWAY_RETRIES,
          errorThresholdPercentage: env.PAYMENT_BREAKER_ERROR_PERCENT,
          resetTimeoutMs: env.PAYMENT_BREAKER_RESET_MS,
        });
        registerBreakerStateMetric(metrics.registry, gateway);
        return gateway;
      },
      inject: [SERVICE_ENV, SimulatedPaymentGateway, ServiceMetrics],
    },
  ],
})
export class PaymentModule {}
