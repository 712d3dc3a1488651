import 'reflect-metadata';
import { maskSecrets } from '@lib/logging';
import { bootstrapService, exitOnUnexpectedErrors } from '@lib/service';
import { notificationService } from './notification.definition';
import { NotificationModule } from './notification.module';

exitOnUnexpectedErrors('notification');
void bootstrapService(NotificationModule, notificationService).catch((error: Error) => {
  process.stderr.write(`notification failed to start: ${maskSecrets(error.message)}\n`);
  process.exit(1);
});
