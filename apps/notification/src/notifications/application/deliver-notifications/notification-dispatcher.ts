import { EventEnvelope, eventHeaders } from '@lib/events';
import { withLogContext } from '@lib/logging';
import { DeadLetterSink, describeError } from '@lib/messaging';
import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { NotificationChannel, redeliveryDelayMs } from '../../domain/notification';
import { ClaimedNotification, NotificationQueue } from '../../infrastructure/notification-queue';

export interface DispatcherSettings {
  /** Delivery attempts of one notification before it is dead-lettered. */
  maxAttempts: number;
  /** Delay after the first failed attempt, doubled per attempt (at most 5 minutes). */
  retryBackoffMs: number;
  /** Deliveries in flight at once, across channels. */
  concurrency: number;
  /** How often to look for due notifications when nothing wakes the dispatcher. */
  pollIntervalMs: number;
  /**
   * How long a wake-up waits for the commits right after it before claiming,
   * so that they share one claim (under load, one UPDATE for several events
   * rather than one each). Default 0: claim at once.
   */
  gatherMs?: number;
  /** The consumer group whose inbox row a dead-lettered notification's event loses (so a replay is handled again). */
  consumerGroup: string;
}

/** The dead-letter kind of a notification that no attempt delivered. */
export const DELIVERY_FAILED = 'delivery_failed';

/**
 * Delivers recorded notifications, per channel, after the consumer's
 * transaction committed — never inside one, so a slow or failing channel
 * holds no database connection and never delays the consumption of other
 * orders.
 *
 * - Woken right after a commit (the consumer's after-commit hook) and, when
 *   its slots ran out, when a delivery finishes; polls every
 *   `pollIntervalMs` as a fallback (a wake-up lost, rows of another
 *   instance, rows due again after a backoff). A wake-up claims after
 *   `gatherMs`, with what was committed meanwhile.
 * - Claims due rows with `FOR UPDATE SKIP LOCKED` and a lease, only as many
 *   as it has free slots (`concurrency`), so several instances share the work
 *   and never deliver one row at the same time.
 * - A failed attempt is retried after a backoff; after `maxAttempts` the
 *   notification goes to `notification.dlq` (the event as the value, the
 *   usual dead-letter headers, kind `delivery_failed`) and its row and its
 *   event's inbox row are removed: the dead letter is the only trace, and
 *   `npm run dlq -- replay` delivers it again.
 * - At least once: rows claimed when the process died are delivered again
 *   after their lease expires; a shutdown releases the rows it was delivering.
 *   Receivers deduplicate (webhook: `Idempotency-Key: <eventId>:webhook`).
 * - No order between notifications: each stands on its own (a slow one does
 *   not hold back the next, even of the same order).
 */
export class NotificationDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('NotificationDispatcher');
  private readonly channels: Map<string, NotificationChannel>;
  private readonly leaseMs: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private pendingWake = false;
  private wakeUp: (() => void) | null = null;
  private failing = false;

  constructor(
    private readonly queue: NotificationQueue,
    channels: readonly NotificationChannel[],
    private readonly deadLetters: DeadLetterSink,
    private readonly settings: DispatcherSettings,
  ) {
    this.channels = new Map(channels.map((c) => [c.name, c]));
    // Outlasts the slowest delivery (its own timeouts and retries), with room to record the outcome.
    this.leaseMs = 2 * Math.max(...channels.map((c) => c.maxDeliveryMs)) + 10_000;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops claiming, cuts the deliveries in flight short (their rows are released, not counted) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = null;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Looks for due notifications now (e.g. right after a commit recorded some). */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /**
   * One round without the loop: claims what is due (up to `concurrency`),
   * delivers it, and resolves with how many were claimed once they are done.
   */
  async deliverDue(): Promise<number> {
    const claimed = await this.queue.claim(this.settings.concurrency, this.leaseMs);
    await Promise.all(claimed.map((n) => this.deliver(n)));
    return claimed.length;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.pendingWake = false;
      const free = this.settings.concurrency - this.inFlight.size;
      try {
        const claimed = await this.queue.claim(free, this.leaseMs);
        for (const notification of claimed) this.track(this.deliver(notification));
        if (this.failing) this.log.log('notification database reachable again; delivering');
        this.failing = false;
      } catch (error) {
        if (!this.failing)
          this.log.warn(`cannot claim notifications to deliver (${describeError(error)}); trying again every ${this.settings.pollIntervalMs} ms`);
        this.failing = true;
      }
      // Woken by a commit, a finished delivery (a slot is free) or a retry coming due; else the poll.
      await this.idle(this.settings.pollIntervalMs);
      if (this.pendingWake && !this.stopping && this.settings.gatherMs) await new Promise((r) => setTimeout(r, this.settings.gatherMs));
    }
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => {
      // A freed slot matters only when the slots had run out (more may be due); otherwise everything due was
      // claimed, and what is recorded next wakes the dispatcher itself (a claim per finished delivery was
      // mostly a round trip for nothing).
      const slotsRanOut = this.inFlight.size >= this.settings.concurrency;
      this.inFlight.delete(delivery);
      if (slotsRanOut) this.wake();
    });
  }

  /** One attempt on one claimed notification, and its outcome recorded; never throws. */
  private deliver(n: ClaimedNotification): Promise<void> {
    return withLogContext({ correlationId: n.correlationId, eventId: n.eventId, orderId: n.orderId }, async () => {
      try {
        // Claimed again after its last attempt (the process died before recording the outcome): no more tries.
        if (n.attempts > this.settings.maxAttempts) return await this.deadLetter(n, n.lastError ?? 'delivery outcome unknown after the last attempt');
        const channel = this.channels.get(n.channel);
        try {
          if (!channel) throw new Error(`channel ${n.channel} is not configured`);
          await channel.deliver(
            { orderId: n.orderId, eventId: n.eventId, eventType: n.eventType, correlationId: n.correlationId, subject: n.subject, body: n.body },
            this.abort.signal,
          );
        } catch (error) {
          if (this.abort.signal.aborted) return await this.queue.release(n.id);
          return await this.failed(n, describeError(error));
        }
        await this.queue.markDelivered(n.id);
      } catch (error) {
        // Recording the outcome failed (database down): the lease expires and the row is delivered again.
        this.log.warn(`notification ${n.id} (${n.channel}, event ${n.eventId}): ${describeError(error)}; it is delivered again once its lease expires`);
      }
    });
  }

  private async failed(n: ClaimedNotification, error: string): Promise<void> {
    if (n.attempts >= this.settings.maxAttempts) return this.deadLetter(n, error);
    const delay = redeliveryDelayMs(n.attempts, this.settings.retryBackoffMs);
    await this.queue.retryLater(n.id, delay, error);
    this.log.warn(
      `${n.channel} notification of ${n.eventType} ${n.eventId} failed (attempt ${n.attempts}/${this.settings.maxAttempts}), retrying in ${delay} ms: ${error} (correlationId ${n.correlationId})`,
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, delay);
    this.timers.add(timer);
  }

  private async deadLetter(n: ClaimedNotification, error: string): Promise<void> {
    const attempts = Math.min(n.attempts, this.settings.maxAttempts);
    try {
      await this.deadLetters.send(
        {
          topic: n.sourceTopic ?? n.eventType,
          partition: n.sourcePartition ?? -1,
          offset: n.sourceOffset ?? '-1',
          key: n.orderId,
          value: n.eventPayload ?? '',
          headers: n.eventPayload ? eventHeaders(JSON.parse(n.eventPayload) as EventEnvelope) : {},
        },
        { kind: DELIVERY_FAILED, message: error, attempts },
      );
    } catch (sendError) {
      // Kept, and dead-lettered when it is claimed again (its attempts are spent).
      await this.queue.retryLater(n.id, redeliveryDelayMs(n.attempts, this.settings.retryBackoffMs), error);
      this.log.warn(`cannot dead-letter notification ${n.id} to ${this.deadLetters.destination} yet: ${describeError(sendError)}`);
      return;
    }
    await this.queue.removeDeadLettered(n, this.settings.consumerGroup);
    this.log.warn(
      `dead-lettered the ${n.channel} notification of ${n.eventType} ${n.eventId} to ${this.deadLetters.destination} after ${attempts} attempts: ${error} (correlationId ${n.correlationId})`,
    );
  }

  /** Sleeps until the timeout, stop() or wake() (a wake-up that came while busy counts too). */
  private idle(ms: number): Promise<void> {
    if (this.stopping || this.pendingWake) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
