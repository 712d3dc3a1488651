import 'reflect-metadata';
import { maskSecrets } from '@lib/logging';
import { bootstrapService, exitOnUnexpectedErrors } from '@lib/service';
import { orderService } from './order.definition';
import { OrderModule } from './order.module';

exitOnUnexpectedErrors('order');
void bootstrapService(OrderModule, orderService).catch((error: Error) => {
  process.stderr.write(`order failed to start: ${maskSecrets(error.message)}\n`);
  process.exit(1);
});
