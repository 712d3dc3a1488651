import 'reflect-metadata';
import { bootstrapService, exitOnUnexpectedErrors } from '@lib/service';
import { orderService } from './order.definition';
import { OrderModule } from './order.module';

exitOnUnexpectedErrors('order');
void bootstrapService(OrderModule, orderService).catch((error: Error) => {
  process.stderr.write(`order failed to start: ${error.message}\n`);
  process.exit(1);
});
