import { Logger } from '@nestjs/common';
import { NotificationChannel, NotificationMessage } from '../../domain/notification';

/** The default channel: the notification is a log line. */
export class LogChannel implements NotificationChannel {
  readonly name = 'log';
  readonly maxDeliveryMs = 1000;
  private readonly log = new Logger('LogChannel');

  async deliver(message: NotificationMessage): Promise<void> {
    this.log.log(
      `[${message.eventType}] ${message.subject}: ${message.body} (order ${message.orderId}, event ${message.eventId}, correlationId ${message.correlationId})`,
    );
  }
}
