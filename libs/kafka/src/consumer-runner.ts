import { Logger } from '@nestjs/common';
import { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';

/** A consumed record, free of kafkajs types. Header values are decoded as UTF-8. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  /** Offset of this record (the committed offset after it is `offset + 1`). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/** What a processor can do while it works on one message. */
export interface ProcessingControl {
  /** False once the consumer is stopping or the partition was revoked: finish nothing new, return 'abort'. */
  isActive(): boolean;
  /**
   * Aborted when a rebalance began (a heartbeat was refused): the partition
   * may move to another member, and the group waits until this member gives
   * its batch up and rejoins. Work in hand that waits on something that may
   * never answer (a database cut off without a reset) is abandoned then,
   * uncommitted, instead of holding the whole group for its deadline.
   */
  readonly revoked?: AbortSignal;
}

/**
 * Handles one message. 'done' means its effects are committed and its offset
 * may be committed; 'abort' means stop this partition's batch here without
 * committing it (shutdown or revocation): the message is fetched again later.
 * `{ retryInMs }` means: not done, try this message again after that delay —
 * the runner pauses just this partition meanwhile and releases the fetch loop,
 * so the other partitions keep flowing while one message waits for its retry.
 */
export type ProcessOutcome = 'done' | 'abort' | { retryInMs: number };
export type MessageProcessor = (message: ConsumedMessage, control: ProcessingControl) => Promise<ProcessOutcome>;

/**
 * Handles several consecutive messages of one partition at once (e.g. in one
 * database transaction) and resolves with how many of them, from the first,
 * are done. The runner commits those and hands the first message that is not
 * done, and everything after it in the fetched batch, to the
 * {@link MessageProcessor} one by one, which decides about retries,
 * dead letters and waiting. 0 is a valid answer: "let the per-message path do it".
 */
export type BatchProcessor = (messages: ConsumedMessage[], control: ProcessingControl) => Promise<number>;

/** A {@link BatchProcessor} and the most messages it gets at once. */
export interface BatchProcessing {
  process: BatchProcessor;
  maxMessages: number;
}

export interface ConsumerRunnerOptions {
  groupId: string;
  topics: readonly string[];
  /** Partitions processed at the same time; order is kept within each partition. */
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Where a group with no committed offset starts. */
  fromBeginning: boolean;
  /**
   * Longest time a fetch waits for new data (kafkajs default 5000 ms). Also
   * bounds how late a partition paused for a retry is fetched again once
   * resumed. Default 1000 ms.
   */
  maxWaitTimeMs?: number;
  /** Restarts after a crash kafkajs does not recover from by itself; see {@link RestartPolicy}. */
  restart?: Partial<RestartPolicy>;
}

/**
 * kafkajs restarts a crashed consumer only when the cause is retriable; any
 * other crash (a record it cannot decode, an error thrown out of a batch)
 * leaves the consumer stopped for good while the process lives on. The runner
 * restarts it instead: after `initialDelayMs`, doubling up to `maxDelayMs`.
 * More than `maxRestarts` crashes within `windowMs` means it cannot recover by
 * itself: the state becomes 'failed' (liveness fails, so a supervisor
 * restarts the process) and no more restarts are tried.
 */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, maxRestarts: 10, windowMs: 10 * 60_000 };

/**
 * How long a done offset may wait to be committed: the offsets done meanwhile,
 * of every partition, go in one OffsetCommit request. At most this much work
 * is delivered again after a crash or a rebalance (a no-op for the inbox).
 */
const COMMIT_INTERVAL_MS = 500;

/** A partition whose current message has been in work (handled, retried, requeued) since `since` without being done. */
export interface PartitionInWork {
  topic: string;
  partition: number;
  offset: string;
  /** Epoch ms the runner first took this message. */
  since: number;
}

/**
 * 'restarting': crashed, a restart is scheduled. 'failed': crashed more often
 * than the restart policy allows; the process cannot recover by itself.
 */
export type ConsumerState = 'idle' | 'joining' | 'joined' | 'restarting' | 'failed' | 'stopped';

export interface ConsumerRunnerStatus {
  state: ConsumerState;
  lastError: string | null;
  restarts: number;
  kafkajsRestarts: number;
  /** Partitions assigned at the last join, as `topic[partition]`; empty while not joined. */
  assigned: string[];
}

/**
 * Runs a kafkajs consumer group with the guarantees the handlers rely on:
 * - no auto-commit: an offset is committed (as `offset + 1`) only after the
 *   processor said 'done', i.e. after the handler's transaction committed;
 *   the offsets done within {@link COMMIT_INTERVAL_MS} are committed together
 *   (one request, not one per batch), and at once on a rebalance or a stop;
 * - messages of one partition are processed one after the other, partitions
 *   concurrently;
 * - while a processor works, the runner heartbeats on its own, so a slow
 *   handler does not get the member evicted and its partitions reassigned;
 * - a message to be retried later does not hold the fetch loop: kafkajs
 *   fetches again only when every batch of the previous fetch is finished, so
 *   a batch sleeping through a retry backoff would stall every partition. Its
 *   partition is paused for the delay instead and the message fetched again.
 */
export class ConsumerRunner {
  private readonly log = new Logger('ConsumerRunner');
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private state: ConsumerState = 'idle';
  private lastError: string | null = null;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly restartPolicy: RestartPolicy;
  private processor: MessageProcessor | null = null;
  private stopping = false;
  private crashes: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  /** Restarts the runner made after crashes kafkajs left alone (what the restart policy counts). */
  private restartsTotal = 0;
  /** Crashes kafkajs restarted itself (retriable causes: a broker away, a coordinator moving). */
  private kafkajsRestartsTotal = 0;
  /** Set by a restart of ours, cleared when the restarted consumer has joined (logged then). */
  private rejoinAfter: string | null = null;
  private assigned: string[] = [];
  private batchProcessing: BatchProcessing | undefined;
  /** Per `topic[partition]`: the message in work and since when (kept across its retries, dropped once done). */
  private readonly inWork = new Map<string, PartitionInWork>();
  /** Per `topic[partition]`: the last offset done and not committed yet (committed as `offset + 1`). */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; offset: string }>();
  private commitTimer: NodeJS.Timeout | null = null;
  /** The commit of the latest batch's payload: one attempt, no retries (a refused commit only means redelivery). */
  private commitVia: ((offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => Promise<unknown>) | null = null;

  constructor(
    connection: KafkaConnectionOptions,
    private readonly options: ConsumerRunnerOptions,
  ) {
    this.kafka = new Kafka(toKafkaJsConfig(connection));
    this.restartPolicy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
  }

  /**
   * Joined means: member of the group with partitions assigned (not merely
   * connected). `restarts`: restarts by the runner after crashes kafkajs does
   * not recover from (what the restart policy counts); `kafkajsRestarts`:
   * crashes kafkajs restarted by itself.
   */
  status(): ConsumerRunnerStatus {
    return {
      state: this.state,
      lastError: this.lastError,
      restarts: this.restartsTotal,
      kafkajsRestarts: this.kafkajsRestartsTotal,
      assigned: this.state === 'joined' ? this.assigned : [],
    };
  }

  /**
   * Partitions whose current message has been in work for longer than
   * `thresholdMs` — a handler blocked on a lock, a message requeued again and
   * again: no progress on that partition. Longest first.
   */
  stuckPartitions(thresholdMs: number, now = Date.now()): (PartitionInWork & { forMs: number })[] {
    return [...this.inWork.values()]
      .map((p) => ({ ...p, forMs: now - p.since }))
      .filter((p) => p.forMs > thresholdMs)
      .sort((a, b) => b.forMs - a.forMs);
  }

  /**
   * Starts consuming: each message through `processor`, or runs of them
   * through `batch` first when given; rejects if the first start fails (later
   * crashes are restarted by the runner).
   */
  async start(processor: MessageProcessor, batch?: BatchProcessing): Promise<void> {
    this.processor = processor;
    this.batchProcessing = batch;
    this.stopping = false;
    await this.launch(processor, batch);
  }

  private async launch(processor: MessageProcessor, batch?: BatchProcessing): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.consumer = consumer;
    this.state = 'joining';
    const current = () => this.consumer === consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (!current()) return;
      this.assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}[${p}]`));
      // A message left waiting for its retry on a partition this member no longer holds is not ours to report as stuck.
      for (const slot of this.inWork.keys()) if (!this.assigned.includes(slot)) this.inWork.delete(slot);
      // Nor is an offset of such a partition ours to commit: its new holder commits its own.
      for (const slot of this.uncommitted.keys()) if (!this.assigned.includes(slot)) this.uncommitted.delete(slot);
      this.state = 'joined';
      this.lastError = null;
      if (this.rejoinAfter) this.log.warn(`consumer group ${this.options.groupId} joined again after a restart (${this.rejoinAfter})`);
      this.rejoinAfter = null;
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (current() && this.state === 'joined') this.state = 'joining';
      // Before the partitions move: what this member did is not delivered again to whoever gets them.
      if (current()) void this.commitNow();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!current()) return;
      const error: unknown = event.payload.error;
      this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error);
      // kafkajs restarts the consumer itself after retriable crashes; the others are ours to restart.
      if (event.payload.restart) {
        this.state = 'joining';
        this.kafkajsRestartsTotal++;
      } else this.crashed(this.lastError);
    });
    consumer.on(consumer.events.STOP, () => {
      if (current() && this.state !== 'restarting' && this.state !== 'failed') this.state = 'stopped';
    });

    await consumer.connect();
    await consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.processBatch(payload, processor, batch),
    });
  }

  /** A crash kafkajs will not recover from: restart with backoff, or give up when the policy says so. */
  private crashed(reason: string): void {
    if (this.stopping) return;
    const now = Date.now();
    const { initialDelayMs, maxDelayMs, maxRestarts, windowMs } = this.restartPolicy;
    this.crashes = [...this.crashes.filter((at) => now - at < windowMs), now];
    if (this.crashes.length > maxRestarts) {
      this.state = 'failed';
      this.log.error(
        `consumer group ${this.options.groupId} crashed ${this.crashes.length} times within ${Math.round(windowMs / 1000)} s; not restarting it again (liveness fails): ${reason}`,
      );
      return;
    }
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.crashes.length - 1));
    this.state = 'restarting';
    this.log.error(
      `consumer group ${this.options.groupId} crashed (${reason}); restarting it in ${delay} ms (crash ${this.crashes.length} of at most ${maxRestarts} within ${Math.round(windowMs / 1000)} s)`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart(reason);
    }, delay);
  }

  private async restart(reason: string): Promise<void> {
    const processor = this.processor;
    if (this.stopping || !processor) return;
    const old = this.consumer;
    this.consumer = null;
    // kafkajs disconnected the crashed consumer already; this only makes sure.
    await old?.disconnect().catch(() => undefined);
    this.restartsTotal++;
    this.rejoinAfter = reason;
    try {
      // A join refused again crashes the new consumer inside launch(): the CRASH handler schedules the next restart.
      await this.launch(processor, this.batchProcessing);
    } catch (error) {
      this.crashed(`restart failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const consumer = this.consumer;
    this.consumer = null;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    this.inWork.clear();
    await this.commitNow();
    // disconnect() waits for the batches in flight (they commit at their end, see processBatch), then leaves the group.
    if (consumer) await consumer.disconnect();
    this.uncommitted.clear();
    this.commitVia = null;
    this.state = 'stopped';
  }

  private async processBatch(payload: EachBatchPayload, processor: MessageProcessor, batchProcessing?: BatchProcessing): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs builds these as closures over the batch, not methods that need `this`
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary, pause } = payload;
    const revocation = new AbortController();
    const control: ProcessingControl = { isActive: () => isRunning() && !isStale() && !revocation.signal.aborted, revoked: revocation.signal };

    // Heartbeat on a timer while a (possibly slow) processor runs.
    const beat = setInterval(() => {
      heartbeat().catch(() => revocation.abort()); // rebalance in progress: our partitions may move
    }, this.options.heartbeatIntervalMs);
    this.commitVia = commitOffsetsIfNecessary;
    const done = (offset: string) => this.commitLater(batch.topic, batch.partition, offset);
    const slot = `${batch.topic}[${batch.partition}]`;
    try {
      // Runs of messages through the batch processor while it takes all it is given; the
      // rest of the fetched batch, from the first message it left, one by one below.
      let next = 0;
      if (batchProcessing) {
        while (next < batch.messages.length && control.isActive()) {
          const run = batch.messages.slice(next, next + batchProcessing.maxMessages);
          this.takeInWork(slot, batch.topic, batch.partition, run[0].offset);
          const finished = Math.min(
            run.length,
            Math.max(
              0,
              await batchProcessing.process(
                run.map((m) => toConsumed(batch.topic, batch.partition, m)),
                control,
              ),
            ),
          );
          if (finished > 0) {
            this.inWork.delete(slot); // progress; whatever comes next is taken afresh
            resolveOffset(run[finished - 1].offset);
            done(run[finished - 1].offset);
            next += finished;
          }
          if (finished < run.length) break;
        }
      }
      for (const message of batch.messages.slice(next)) {
        if (!control.isActive()) break;
        this.takeInWork(slot, batch.topic, batch.partition, message.offset);
        const outcome = await processor(toConsumed(batch.topic, batch.partition, message), control);
        if (outcome === 'abort') {
          this.inWork.delete(slot);
          break;
        }
        if (typeof outcome === 'object') {
          // Not resolved: after the pause the partition is fetched again from this message.
          this.pauseFor(pause, outcome.retryInMs);
          break;
        }
        this.inWork.delete(slot);
        resolveOffset(message.offset);
        done(message.offset);
      }
    } finally {
      clearInterval(beat);
      // Stopping: disconnect() leaves the group right after the batches in flight, so their offsets go now.
      if (this.stopping) await this.commitNow();
    }
  }

  /** `offset` of a partition is in work from now — or since it was first taken, when it is the same message again. */
  private takeInWork(slot: string, topic: string, partition: number, offset: string): void {
    const previous = this.inWork.get(slot);
    this.inWork.set(slot, { topic, partition, offset, since: previous?.offset === offset ? previous.since : Date.now() });
  }

  /** Records `offset` of a partition as done; committed with the others within {@link COMMIT_INTERVAL_MS}. */
  private commitLater(topic: string, partition: number, offset: string): void {
    this.uncommitted.set(`${topic}[${partition}]`, { topic, partition, offset });
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = null;
      void this.commitNow();
    }, COMMIT_INTERVAL_MS);
  }

  /**
   * Commits the offsets done so far, of every partition, in one request. A
   * commit refused (a rebalance under way, the coordinator away) only means
   * these messages come again; the inbox turns that redelivery into a no-op.
   */
  private async commitNow(): Promise<void> {
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    const commit = this.commitVia;
    if (!commit || this.uncommitted.size === 0) return;
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of this.uncommitted.values()) {
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic)!.push({ partition, offset: (BigInt(offset) + 1n).toString() });
    }
    this.uncommitted.clear();
    await commit({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }).catch(() => undefined);
  }

  private pauseFor(pause: () => () => void, ms: number): void {
    const resume = pause();
    const timer = setTimeout(
      () => {
        this.resumeTimers.delete(timer);
        resume();
      },
      Math.max(0, ms),
    );
    this.resumeTimers.add(timer);
  }
}

function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: decodeHeaders(m.headers),
    timestamp: m.timestamp,
  };
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}
