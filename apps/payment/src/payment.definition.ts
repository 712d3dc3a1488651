import { migrationUrl, ServiceDefinition } from '@lib/service';
import { PaymentEnv } from './config/payment.env';
import { CreatePayments1732250000200 } from './migrations/1732250000200-create-payments';
import { PaymentRefunds1732250000201 } from './migrations/1732250000201-payment-refunds';
import { PaymentRecord } from './payments/infrastructure/payment.record';

export const paymentService: ServiceDefinition<PaymentEnv> = {
  app: 'payment',
  env: PaymentEnv,
  port: (env) => env.PAYMENT_PORT,
  databaseUrl: (env) => env.PAYMENT_DATABASE_URL,
  migrationDatabaseUrl: (env) =>
    migrationUrl(env.PAYMENT_DATABASE_URL, env.PAYMENT_MIGRATION_DATABASE_URL, {
      runtime: new PaymentEnv().PAYMENT_DATABASE_URL,
      owner: 'postgres://payment_owner:payment_owner@127.0.0.1:5432/payments',
    }),
  entities: [PaymentRecord],
  migrations: [CreatePayments1732250000200, PaymentRefunds1732250000201],
  publishes: true,
  // Both first phases read the payment's state before they call the gateway (idempotent on the payment id),
  // so a redelivery calls it no more than an inbox read would let it.
  duplicatePrecheck: false,
};
