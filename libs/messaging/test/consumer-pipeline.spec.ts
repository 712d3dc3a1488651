import { encodeEvent, EventEnvelope } from '@lib/events';
import { orderCreated as anOrderCreated, RecordingDeadLetterSink } from '@lib/testing';
import { ConsumedMessage, ProcessingControl } from '@lib/kafka';
import {
  ConsumerPipeline,
  ConsumerPipelineSteps,
  ConsumerStatus,
  DependencyUnavailableError,
  EventHandler,
  FAILURE_CLASSES,
  InboxGuard,
  PendingDelivery,
  RetryPolicy,
  UnitOfWork,
  UnitOfWorkResult,
} from '../src';

/** A unit of work over an in-memory inbox: what the pipeline sees of a database, without one. */
class MemoryUnitOfWork implements UnitOfWork {
  readonly inbox = new Set<string>();
  readonly applied: string[] = [];
  failWith: unknown = null;

  async run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult> {
    const committed: UnitOfWorkResult['committed'] = [];
    for (const d of deliveries) {
      if (this.failWith) return { committed, failure: { error: this.failWith } };
      if (this.inbox.has(d.event.id)) {
        committed.push('duplicate');
        continue;
      }
      for (const work of d.work) await work({} as never);
      this.inbox.add(d.event.id);
      this.applied.push(d.event.id);
      committed.push('handled');
    }
    return { committed };
  }
}

const orderCreated = () => anOrderCreated({}, { correlationId: 'c-1' });
const messageOf = (value: string | Buffer, topic = 'order.created', offset = '0'): ConsumedMessage => ({
  topic,
  partition: 0,
  offset,
  key: null,
  value: Buffer.from(value),
  headers: {},
  timestamp: '0',
});
const active = { isActive: () => true };

/**
 * The consumer pipeline composed from its policies, run without Kafka or a
 * database: a memory unit of work and dead-letter sink stand in for them.
 * What each step decides is tested with the policy itself; here, how they fit.
 */
describe('ConsumerPipeline', () => {
  let uow: MemoryUnitOfWork;
  let sink: RecordingDeadLetterSink;
  let status: ConsumerStatus;
  let precheck: Set<string>;
  let handler: jest.MockedFunction<EventHandler>;

  const pipeline = (handlers: Record<string, EventHandler> = { 'order.created': handler }, more: Partial<ConsumerPipelineSteps> = {}) =>
    new ConsumerPipeline({
      app: 'payment',
      groupId: 'payment',
      topicPrefix: '',
      handlerFor: (pattern) => handlers[pattern],
      inbox: Object.assign(new InboxGuard('payment'), { seen: async (_: unknown, ids: readonly string[]) => new Set(ids.filter((id) => precheck.has(id))) }),
      duplicatePrecheck: { query: async () => [] },
      unitOfWork: uow,
      failureClasses: FAILURE_CLASSES,
      retry: new RetryPolicy({ maxAttempts: 3, backoffMs: 100, maxBackoffMs: 400 }),
      deadLetters: sink,
      waitMs: 10,
      status,
      ...more,
    });

  beforeEach(() => {
    uow = new MemoryUnitOfWork();
    sink = new RecordingDeadLetterSink('payment.dlq');
    status = new ConsumerStatus();
    precheck = new Set();
    handler = jest.fn<Promise<void>, Parameters<EventHandler>>(async () => undefined);
  });

  it('runs the handler first, then its transactional work, then its after-commit hooks, and counts the event handled', async () => {
    const steps: string[] = [];
    handler.mockImplementation(async (_, ctx) => {
      steps.push('phase 1');
      ctx.inTransaction(async () => void steps.push('in transaction'));
      ctx.afterCommit(() => void steps.push('after commit'));
    });
    const event = orderCreated();
    expect(await pipeline().process(messageOf(JSON.stringify(event)), active)).toBe('done');
    expect(steps).toEqual(['phase 1', 'in transaction', 'after commit']);
    expect(uow.applied).toEqual([event.id]);
    expect(status.snapshot()['order.created']).toMatchObject({ handled: 1, duplicate: 0 });
  });

  it('dead-letters a value that is not an event at once, without calling a handler', async () => {
    expect(await pipeline().process(messageOf('not json'), active)).toBe('done');
    expect(handler).not.toHaveBeenCalled();
    expect(sink.letters).toEqual([
      { original: expect.objectContaining({ topic: 'order.created', offset: '0' }), reason: expect.objectContaining({ kind: 'not_json', attempts: 0 }) },
    ]);
    expect(status.snapshot()['order.created']).toMatchObject({ dead_lettered: 1 });
  });

  it('dead-letters an event on a topic of another type as unexpected_type', async () => {
    await pipeline().process(messageOf(JSON.stringify(orderCreated()), 'payment.completed'), active);
    expect(sink.letters.map((l) => l.reason.kind)).toEqual(['unexpected_type']);
  });

  it('skips the handler of an event the inbox has seen (a redelivery calls no gateway again)', async () => {
    const event = orderCreated();
    precheck.add(event.id);
    expect(await pipeline().process(messageOf(encodeEvent(event)), active)).toBe('done');
    expect(handler).not.toHaveBeenCalled();
    expect(status.snapshot()['order.created']).toMatchObject({ duplicate: 1, handled: 0 });
  });

  it('counts a duplicate found by the inbox insert, and runs no after-commit hook for it', async () => {
    const event = orderCreated();
    uow.inbox.add(event.id); // handled by another instance between the pre-check and the transaction
    const hook = jest.fn();
    handler.mockImplementation(async (_, ctx) => ctx.afterCommit(hook));
    await pipeline().process(messageOf(encodeEvent(event)), active);
    expect(hook).not.toHaveBeenCalled();
    expect(status.snapshot()['order.created']).toMatchObject({ duplicate: 1 });
  });

  it('retries a failing handler by pausing the partition, then dead-letters it with its attempt count', async () => {
    handler.mockRejectedValue(new Error('test handler refuses'));
    const p = pipeline();
    const message = messageOf(encodeEvent(orderCreated()));
    expect(await p.process(message, active)).toEqual({ retryInMs: 100 });
    expect(await p.process(message, active)).toEqual({ retryInMs: 200 });
    expect(await p.process(message, active)).toBe('done');
    expect(sink.letters.map((l) => l.reason)).toEqual([{ kind: 'handler_error', message: 'test handler refuses', attempts: 3 }]);
    expect(status.snapshot()['order.created']).toMatchObject({ retried: 2, dead_lettered: 1 });
  });

  it('retries when the transactional work fails, and commits nothing of that attempt', async () => {
    uow.failWith = new Error('duplicate key value violates unique constraint');
    handler.mockImplementation(async (_, ctx) => ctx.inTransaction(async () => undefined));
    expect(await pipeline().process(messageOf(encodeEvent(orderCreated())), active)).toEqual({ retryInMs: 100 });
    expect(uow.applied).toEqual([]);
  });

  it('waits in place while a dependency is down — no attempt spent, readiness told — and handles the event once it is back', async () => {
    let calls = 0;
    handler.mockImplementation(async () => {
      if (++calls < 4) throw new DependencyUnavailableError('payment gateway', 'payment gateway unavailable: circuit breaker is open');
    });
    const seenWaiting: (string | null)[] = [];
    const control = { isActive: () => (seenWaiting.push(status.waitingFor), true) };
    expect(await pipeline().process(messageOf(encodeEvent(orderCreated())), control)).toBe('done');
    expect(calls).toBe(4);
    expect(seenWaiting).toContain('payment gateway unavailable: circuit breaker is open');
    expect(status.waitingFor).toBeNull();
    expect(status.snapshot()['order.created']).toMatchObject({ handled: 1, retried: 0, dead_lettered: 0 });
  });

  it('gives up the message (abort, nothing committed) when the partition is revoked while it waits', async () => {
    handler.mockRejectedValue(new DependencyUnavailableError('payment gateway'));
    let checks = 0;
    expect(await pipeline().process(messageOf(encodeEvent(orderCreated())), { isActive: () => ++checks < 3 })).toBe('abort');
    expect(uow.applied).toEqual([]);
    expect(sink.letters).toEqual([]);
  });

  it.each([
    ['one message', (p: ConsumerPipeline, m: ConsumedMessage, c: ProcessingControl) => p.process(m, c), 'abort'],
    ['a batch', (p: ConsumerPipeline, m: ConsumedMessage, c: ProcessingControl) => p.processBatch([m], c), 0],
  ] as const)(
    'abandons %s stuck in its transactional work as soon as the partition is revoked (the group is waiting), and the late outcome changes nothing',
    async (_, run, abandoned) => {
      let finish: (() => void) | undefined;
      handler.mockImplementation(async (_event, ctx) => {
        // A statement on a connection cut off without a reset: no answer, no error.
        ctx.inTransaction(() => new Promise<void>((resolve) => (finish = resolve)));
      });
      const revocation = new AbortController();
      const control = { isActive: () => !revocation.signal.aborted, revoked: revocation.signal };
      const outcome = run(pipeline(), messageOf(encodeEvent(orderCreated())), control);
      await new Promise((r) => setTimeout(r, 20));
      expect(finish).toBeDefined(); // stuck in its work

      revocation.abort();
      expect(await outcome).toBe(abandoned);

      finish!(); // the connection comes back: the abandoned work commits (its offset was not; the inbox absorbs the redelivery)
      await new Promise((r) => setTimeout(r, 20));
      expect(sink.letters).toEqual([]);
      expect(status.snapshot()['order.created']?.retried ?? 0).toBe(0);
    },
  );

  it('keeps a failing after-commit hook from undoing a committed delivery', async () => {
    const event = orderCreated();
    handler.mockImplementation(async (_, ctx) =>
      ctx.afterCommit(() => {
        throw new Error('dispatcher asleep');
      }),
    );
    expect(await pipeline().process(messageOf(encodeEvent(event)), active)).toBe('done');
    expect(status.snapshot()['order.created']).toMatchObject({ handled: 1 });
  });

  it('refuses transactional work registered after the handler returned', async () => {
    let late: (() => void) | undefined;
    handler.mockImplementation(async (_, ctx) => {
      late = () => ctx.inTransaction(async () => undefined);
    });
    await pipeline().process(messageOf(encodeEvent(orderCreated())), active);
    expect(late).toThrow(/after the handler returned/);
  });

  it('passes the handler the event and a context naming it', async () => {
    const event = orderCreated();
    let received: { event?: EventEnvelope; causedBy?: unknown; attempt?: number } = {};
    handler.mockImplementation(async (e, ctx) => {
      received = { event: e, causedBy: ctx.causedBy(), attempt: ctx.attempt };
    });
    await pipeline().process(messageOf(encodeEvent(event)), active);
    expect(received).toEqual({ event, causedBy: { correlationId: 'c-1', causationId: event.id }, attempt: 1 });
  });

  it('runs a perBatch load for the message alone when messages are handled one by one, once however often it is asked', async () => {
    const event = orderCreated();
    const loads: string[][] = [];
    handler.mockImplementation(async (_, ctx) => {
      const load = async (events: readonly EventEnvelope[]) => loads.push(events.map((e) => e.id));
      expect([await ctx.perBatch('ids', load), await ctx.perBatch('ids', load)]).toEqual([1, 1]);
    });
    await pipeline().process(messageOf(encodeEvent(event)), active);
    expect(loads).toEqual([[event.id]]);
  });

  describe('processBatch (one unit of work for consecutive messages of a partition)', () => {
    /** Records each run's deliveries; fails the delivery of `failOn` (its neighbours before it commit). */
    class BatchMemoryUnitOfWork extends MemoryUnitOfWork {
      readonly runs: string[][] = [];
      failOn: string | null = null;
      override async run(deliveries: readonly PendingDelivery[]): Promise<UnitOfWorkResult> {
        this.runs.push(deliveries.map((d) => d.event.id));
        const cut = deliveries.findIndex((d) => d.event.id === this.failOn);
        if (cut < 0) return super.run(deliveries);
        const before = await super.run(deliveries.slice(0, cut));
        return { committed: before.committed, failure: { error: new Error('work failed') } };
      }
    }
    let batchUow: BatchMemoryUnitOfWork;
    const batchPipeline = (more: Partial<ConsumerPipelineSteps> = {}) => {
      batchUow = new BatchMemoryUnitOfWork();
      uow = batchUow;
      return pipeline(undefined, more);
    };
    const messages = (events: (EventEnvelope | string)[]) =>
      events.map((e, i) => messageOf(typeof e === 'string' ? e : encodeEvent(e), 'order.created', String(i)));

    it('runs every handler first, then one unit of work for all of them, then each after-commit hook, and reports them all done', async () => {
      const steps: string[] = [];
      handler.mockImplementation(async (e, ctx) => {
        steps.push(`phase 1 ${e.id}`);
        ctx.inTransaction(async () => void steps.push(`work ${e.id}`));
        ctx.afterCommit(() => void steps.push(`after ${e.id}`));
      });
      const p = batchPipeline();
      const events = [orderCreated(), orderCreated(), orderCreated()];
      expect(await p.processBatch(messages(events), active)).toBe(3);
      const [a, b, c] = events.map((e) => e.id);
      expect(steps).toEqual([`phase 1 ${a}`, `phase 1 ${b}`, `phase 1 ${c}`, `work ${a}`, `work ${b}`, `work ${c}`, `after ${a}`, `after ${b}`, `after ${c}`]);
      expect(batchUow.runs).toEqual([[a, b, c]]);
      expect(status.snapshot()['order.created']).toMatchObject({ handled: 3 });
    });

    it('counts an event the inbox has seen as a done duplicate without calling its handler', async () => {
      const events = [orderCreated(), orderCreated(), orderCreated()];
      precheck.add(events[1].id);
      expect(await batchPipeline().processBatch(messages(events), active)).toBe(3);
      expect(handler).toHaveBeenCalledTimes(2);
      expect(batchUow.runs).toEqual([[events[0].id, events[2].id]]);
      expect(status.snapshot()['order.created']).toMatchObject({ handled: 2, duplicate: 1 });
    });

    it('runs the first phase of an event that comes twice in one batch once (no second gateway call): the copy is a done duplicate', async () => {
      const [a, b] = [orderCreated(), orderCreated()];
      expect(await batchPipeline().processBatch(messages([a, a, b, a]), active)).toBe(4);
      expect(handler.mock.calls.map(([event]) => event.id)).toEqual([a.id, b.id]);
      expect(batchUow.runs).toEqual([[a.id, b.id]]);
      expect(status.snapshot()['order.created']).toMatchObject({ handled: 2, duplicate: 2 });
    });

    it('runs a perBatch load once for the batch, with each event whose first phase may run, and gives every handler its result', async () => {
      const loads: string[][] = [];
      const answers: unknown[] = [];
      handler.mockImplementation(async (_, ctx) => {
        answers.push(await ctx.perBatch('ids', async (events) => loads.push(events.map((e) => e.id))));
      });
      const [a, b, c] = [orderCreated(), orderCreated(), orderCreated()];
      precheck.add(c.id);
      expect(await batchPipeline().processBatch(messages([a, b, a, c]), active)).toBe(4);
      expect(loads).toEqual([[a.id, b.id]]);
      expect(answers).toEqual([1, 1]);
    });

    it('stops before a message that is not an event, leaving it to the per-message path that dead-letters it', async () => {
      const events = [orderCreated(), 'not json', orderCreated()];
      expect(await batchPipeline().processBatch(messages(events), active)).toBe(1);
      expect(sink.letters).toEqual([]);
      expect(batchUow.applied).toEqual([(events[0] as EventEnvelope).id]);
    });

    it('commits the deliveries before one whose work fails and leaves that one and the rest undone', async () => {
      const events = [orderCreated(), orderCreated(), orderCreated()];
      const p = batchPipeline();
      batchUow.failOn = events[1].id;
      expect(await p.processBatch(messages(events), active)).toBe(1);
      expect(batchUow.applied).toEqual([events[0].id]);
      expect(status.snapshot()['order.created']).toMatchObject({ handled: 1, retried: 0, dead_lettered: 0 });
    });

    it('stops before a message whose handler throws in its first phase, committing the ones before it', async () => {
      const events = [orderCreated(), orderCreated(), orderCreated()];
      handler.mockImplementation(async (e) => {
        if (e.id === events[1].id) throw new Error('gateway down');
      });
      expect(await batchPipeline().processBatch(messages(events), active)).toBe(1);
      expect(batchUow.runs).toEqual([[events[0].id]]);
    });

    it('leaves a message that waits for its retry to the per-message path, which counts its attempts', async () => {
      const event = orderCreated();
      handler.mockRejectedValueOnce(new Error('bug'));
      const p = batchPipeline();
      const [message] = messages([event]);
      expect(await p.process(message, active)).toEqual({ retryInMs: expect.any(Number) });
      expect(await p.processBatch([message], active)).toBe(0);
      expect(await p.process(message, active)).toBe('done');
    });

    it('gives a batch up at the attempt deadline (its database connection cut silently): nothing done, the messages go one by one', async () => {
      const p = batchPipeline({ attemptTimeoutMs: 50 });
      batchUow.run = () => new Promise(() => undefined); // a statement that never comes back
      expect(await p.processBatch(messages([orderCreated(), orderCreated()]), active)).toBe(0);
    });
  });
});
