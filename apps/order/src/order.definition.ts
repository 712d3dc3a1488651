import { migrationUrl, ServiceDefinition } from '@lib/service';
import { OrderEnv } from './config/order.env';
import { CreateOrders1732250000100 } from './migrations/1732250000100-create-orders';
import { OrderRecord } from './orders/infrastructure/order.record';

export const orderService: ServiceDefinition<OrderEnv> = {
  app: 'order',
  env: OrderEnv,
  port: (env) => env.ORDER_PORT,
  databaseUrl: (env) => env.ORDER_DATABASE_URL,
  migrationDatabaseUrl: (env) =>
    migrationUrl(env.ORDER_DATABASE_URL, env.ORDER_MIGRATION_DATABASE_URL, {
      runtime: new OrderEnv().ORDER_DATABASE_URL,
      owner: 'postgres://order_owner:order_owner@127.0.0.1:5432/orders',
    }),
  entities: [OrderRecord],
  migrations: [CreateOrders1732250000100],
  publishes: true,
  duplicatePrecheck: false, // settling an order is all in the transaction
};
