import { Logger } from '@nestjs/common';

export type ConsumeOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

/** Receives each message outcome; `durationMs` (taken → committed) comes with `handled` and `duplicate`. */
export interface ConsumerObserver {
  onOutcome(topic: string, outcome: ConsumeOutcome, durationMs?: number): void;
}

/**
 * Outcome counters per topic and what the consumer is waiting for, if
 * anything (readiness reads it). Tells the observer (metrics) as it goes.
 */
export class ConsumerStatus {
  private readonly log = new Logger('KafkaEventsTransport');
  private readonly counts: Record<string, Record<ConsumeOutcome, number>> = {};
  private waiting: string | null = null;

  constructor(private readonly observer?: ConsumerObserver) {}

  record(topic: string, outcome: ConsumeOutcome, durationMs?: number): void {
    const c = (this.counts[topic] ??= { handled: 0, duplicate: 0, retried: 0, dead_lettered: 0 });
    c[outcome]++;
    this.observer?.onOutcome(topic, outcome, durationMs);
  }

  /** Marks the consumer as waiting for a dependency; logged once per distinct wait. */
  waitFor(what: string, about?: string): void {
    if (this.waiting !== what) this.log.warn(`waiting for ${what}${about ? ` before handling ${about}` : ''}`);
    this.waiting = what;
  }

  resume(): void {
    this.waiting = null;
  }

  get waitingFor(): string | null {
    return this.waiting;
  }

  snapshot(): Record<string, Record<ConsumeOutcome, number>> {
    return structuredClone(this.counts);
  }
}
