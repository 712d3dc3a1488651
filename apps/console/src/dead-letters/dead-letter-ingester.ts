import { toDeadLetterRecord } from '@lib/dead-letters';
import { DEAD_LETTER_TOPICS } from '@lib/events';
import { ConsumerRunner, KafkaConnectionOptions } from '@lib/kafka';
import { Logger } from '@nestjs/common';
import { DeadLetterStore } from './dead-letter-store';

/** The console's consumer group on the dead-letter topics; it commits only after a letter is stored. */
export const CONSOLE_GROUP = 'console';

/**
 * Copies every dead letter of the three `<app>.dlq` topics into the console's
 * database as it arrives (group `console`, from the beginning on first start),
 * so the pages can filter, page and count without reading Kafka each time.
 * A letter is stored before its offset is committed, once (its place in the
 * topic is its key).
 */
export class DeadLetterIngester {
  private readonly runner: ConsumerRunner;
  private readonly log = new Logger('DeadLetterIngester');

  constructor(
    connection: KafkaConnectionOptions,
    private readonly store: DeadLetterStore,
  ) {
    this.runner = new ConsumerRunner(connection, {
      groupId: CONSOLE_GROUP,
      topics: DEAD_LETTER_TOPICS,
      partitionsConsumedConcurrently: 3,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3000,
      fromBeginning: true,
      maxWaitTimeMs: 500,
    });
  }

  status() {
    return this.runner.status();
  }

  async start(): Promise<void> {
    await this.runner.start(async (message) => {
      try {
        await this.store.add(toDeadLetterRecord(message));
        return 'done';
      } catch (error) {
        this.log.warn(`storing dead letter ${message.topic}/${message.partition}@${message.offset} failed, retrying: ${(error as Error).message}`);
        return { retryInMs: 1000 };
      }
    });
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }
}
