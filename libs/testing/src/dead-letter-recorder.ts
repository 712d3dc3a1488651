import { DeadLetterOriginal, DeadLetterReason, DeadLetterSink } from '@lib/messaging';

/**
 * A dead-letter sink that keeps what it is given, for specs of the parts that
 * dead-letter (the consumer pipeline, the notification dispatcher) without a
 * broker. Suites with a broker read the real dead-letter topic instead
 * (`system.record([deadLetterTopic(app)])`).
 */
export class RecordingDeadLetterSink extends DeadLetterSink {
  readonly letters: { original: DeadLetterOriginal; reason: DeadLetterReason }[] = [];

  constructor(readonly destination: string) {
    super();
  }

  async send(original: DeadLetterOriginal, reason: DeadLetterReason): Promise<void> {
    this.letters.push({ original, reason });
  }

  async close(): Promise<void> {}
}
