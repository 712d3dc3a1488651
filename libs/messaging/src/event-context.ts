import { EventEnvelope } from '@lib/events';
import { ConsumedMessage } from '@lib/kafka';
import { BaseRpcContext } from '@nestjs/microservices';
import { EntityManager } from 'typeorm';

type EventContextArgs = [message: ConsumedMessage, event: EventEnvelope, manager: EntityManager, attempt: number];

/**
 * What a handler gets with `@Ctx()`: the transaction its effects must use (the
 * inbox row is already in it), the Kafka coordinates, and the causality to put
 * on the events it publishes.
 */
export class KafkaEventContext extends BaseRpcContext<EventContextArgs> {
  /** The transaction of this delivery: write effects and outbox rows through it, and nothing else. */
  get transaction(): EntityManager {
    return this.args[2];
  }

  get message(): ConsumedMessage {
    return this.args[0];
  }

  get topic(): string {
    return this.args[0].topic;
  }

  get partition(): number {
    return this.args[0].partition;
  }

  get offset(): string {
    return this.args[0].offset;
  }

  /** 1 for the first delivery attempt in this process, 2 for the first retry, … */
  get attempt(): number {
    return this.args[3];
  }

  /** Meta for events caused by this one: same correlation id, this event's id as causation id. */
  causedBy(): { correlationId: string; causationId: string } {
    const event = this.args[1];
    return { correlationId: event.correlationId, causationId: event.id };
  }
}
