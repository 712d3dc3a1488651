import { AttemptLedger, DependencyUnavailableError, FAILURE_CLASSES, FailureClass, RetryPolicy } from '../../src';

describe('RetryPolicy', () => {
  const policy = new RetryPolicy({ maxAttempts: 5, backoffMs: 200, maxBackoffMs: 1000 });

  it('doubles the delay per failed attempt up to the ceiling, and has none after the last attempt', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => policy.nextDelay(attempt))).toEqual([200, 400, 800, 1000, null]);
  });

  it('retries a handler error after the backoff, and dead-letters it with the attempt count once the attempts are spent', () => {
    const bug = new Error('test handler refuses');
    expect(policy.decide(bug, 1, FAILURE_CLASSES)).toEqual({ action: 'retry', inMs: 200 });
    expect(policy.decide(bug, 5, FAILURE_CLASSES)).toEqual({
      action: 'dead_letter',
      reason: { kind: 'handler_error', message: 'test handler refuses', attempts: 5 },
    });
  });

  it('waits for an unavailable dependency without spending an attempt, however many were made', () => {
    const down = new DependencyUnavailableError('payment gateway', 'payment gateway unavailable: circuit breaker is open');
    expect(policy.decide(down, 5, FAILURE_CLASSES)).toEqual({ action: 'wait', what: 'payment gateway unavailable: circuit breaker is open' });
  });

  it('requeues a lock timeout after the first delay without spending an attempt, however many were made', () => {
    const lockTimeout = Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });
    expect(policy.decide(lockTimeout, 5, FAILURE_CLASSES)).toEqual({
      action: 'requeue',
      inMs: 200,
      why: 'database_contention: canceling statement due to lock timeout',
    });
  });

  it('dead-letters at once a class that says so, with the class as the kind', () => {
    const classes: FailureClass[] = [{ name: 'permanent', decision: 'dead_letter', matches: () => true }];
    expect(policy.decide(new Error('never'), 1, classes)).toEqual({ action: 'dead_letter', reason: { kind: 'permanent', message: 'never', attempts: 1 } });
  });
});

describe('AttemptLedger', () => {
  const at = (offset: string, partition = 0) => ({ topic: 'order.created', partition, offset });

  it('continues the count of a message fetched again after its retry, and starts over for the next one', () => {
    const ledger = new AttemptLedger();
    expect(ledger.attemptOf(at('7'))).toBe(1);
    ledger.recordFailure(at('7'), 1);
    expect(ledger.attemptOf(at('7'))).toBe(2);
    ledger.recordFailure(at('7'), 2);
    expect(ledger.attemptOf(at('7'))).toBe(3);
    expect(ledger.attemptOf(at('7', 1))).toBe(1); // another partition
    expect(ledger.attemptOf(at('8'))).toBe(1); // the partition moved on (e.g. the message was dead-lettered elsewhere)
    ledger.clear(at('7'));
    expect(ledger.attemptOf(at('7'))).toBe(1);
  });
});
