import 'reflect-metadata';
import { bootstrapService, exitOnUnexpectedErrors } from '@lib/service';
import { paymentService } from './payment.definition';
import { PaymentModule } from './payment.module';

exitOnUnexpectedErrors('payment');
void bootstrapService(PaymentModule, paymentService).catch((error: Error) => {
  process.stderr.write(`payment failed to start: ${error.message}\n`);
  process.exit(1);
});
