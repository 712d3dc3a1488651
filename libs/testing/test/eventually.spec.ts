import { eventually, StopWaiting } from '@lib/testing';

describe('eventually', () => {
  it('returns the first value the probe gives that is accepted, trying again after values and errors it does not accept', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return calls;
      },
      { accept: (n) => n >= 3, intervalMs: 1 },
    );
    expect(value).toBe(3);
  });

  it('fails after its deadline naming what it waited for and the last value seen', async () => {
    await expect(eventually(() => 41, { accept: (n) => n === 42, timeoutMs: 50, intervalMs: 5, what: 'the answer' })).rejects.toThrow(
      'the answer not met within 50 ms (last value: 41)',
    );
  });

  it('fails with the last error when the probe kept throwing', async () => {
    await expect(
      eventually(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 30, intervalMs: 5, what: 'a connection' },
      ),
    ).rejects.toThrow('a connection not met within 30 ms (last error: connection refused)');
  });

  it('gives up at once, long before its deadline, when the probe throws StopWaiting', async () => {
    const started = Date.now();
    let calls = 0;
    await expect(
      eventually(
        () => {
          calls++;
          throw new StopWaiting('the process exited (1)');
        },
        { timeoutMs: 60_000, what: 'app ready' },
      ),
    ).rejects.toThrow('app ready cannot happen any more: the process exited (1)');
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
