import { ServiceDefinition } from '@lib/service';
import { PaymentEnv } from './config/payment.env';
import { CreatePayments1732250000200 } from './migrations/1732250000200-create-payments';
import { PaymentRecord } from './payments/infrastructure/payment.record';

export const paymentService: ServiceDefinition<PaymentEnv> = {
  app: 'payment',
  env: PaymentEnv,
  port: (env) => env.PAYMENT_PORT,
  databaseUrl: (env) => env.PAYMENT_DATABASE_URL,
  entities: [PaymentRecord],
  migrations: [CreatePayments1732250000200],
  publishes: true,
};
