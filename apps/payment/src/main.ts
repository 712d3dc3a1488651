import 'reflect-metadata';
import { maskSecrets } from '@lib/logging';
import { bootstrapService, exitOnUnexpectedErrors } from '@lib/service';
import { paymentService } from './payment.definition';
import { PaymentModule } from './payment.module';

exitOnUnexpectedErrors('payment');
void bootstrapService(PaymentModule, paymentService).catch((error: Error) => {
  process.stderr.write(`payment failed to start: ${maskSecrets(error.message)}\n`);
  process.exit(1);
});
