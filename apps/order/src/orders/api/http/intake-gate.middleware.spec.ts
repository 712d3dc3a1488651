import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import { OrderEnv } from '../../../config/order.env';
import { IntakeGateMiddleware } from './intake-gate.middleware';

const WAIT_MS = new OrderEnv().ORDER_INTAKE_WAIT_MS;

/** An Express response as far as the gate uses it: its events and a 503 answer. */
class FakeResponse extends EventEmitter {
  statusCode = 200;
  body: unknown;
  headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  json(body: unknown): void {
    this.body = body;
  }
  finish(): void {
    this.emit('finish');
    this.emit('close');
  }
}

describe('IntakeGateMiddleware (POST /orders leaves connections of the pool to the consumer)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const gateFor = (poolSize: number, settings: Partial<OrderEnv> = {}) =>
    new IntakeGateMiddleware(Object.assign(new OrderEnv(), { DATABASE_POOL_SIZE: poolSize, ...settings }));
  const request = (gate: IntakeGateMiddleware) => {
    const res = new FakeResponse();
    const next = jest.fn();
    gate.use({} as Request, res as unknown as Response, next);
    return { res, next };
  };

  it('lets pool size - 2 requests through at once and the next ones in arrival order as those finish', () => {
    const gate = gateFor(4);
    const [a, b, c, d] = [request(gate), request(gate), request(gate), request(gate)];
    expect([a, b, c, d].map((r) => r.next.mock.calls.length)).toEqual([1, 1, 0, 0]);
    b.res.finish();
    expect([c.next, d.next].map((n) => n.mock.calls.length)).toEqual([1, 0]);
    a.res.finish();
    expect(d.next).toHaveBeenCalledTimes(1);
  });

  it('answers 503 with Retry-After to a request that waited its whole bound, and counts nothing for it', () => {
    const gate = gateFor(3);
    const first = request(gate);
    const waiting = request(gate);
    jest.advanceTimersByTime(WAIT_MS);
    expect(waiting.next).not.toHaveBeenCalled();
    expect(waiting.res.statusCode).toBe(503);
    expect(waiting.res.headers['Retry-After']).toBe('1');
    expect(waiting.res.body).toMatchObject({ statusCode: 503, message: expect.stringContaining('retry in 1 s') });
    first.res.finish();
    expect(request(gate).next).toHaveBeenCalledTimes(1);
  });

  it('forgets a request whose client went away while it waited, and frees the slot of one that was cut mid-way', () => {
    const gate = gateFor(3);
    const inside = request(gate);
    const gone = request(gate);
    const next = request(gate);
    gone.res.emit('close');
    inside.res.emit('close'); // the connection cut before an answer: 'close' without 'finish'
    expect(gone.next).not.toHaveBeenCalled();
    expect(next.next).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(WAIT_MS);
    expect(gone.res.statusCode).toBe(200);
  });

  it('lets one request through at a time when the pool is too small to keep any connection back', () => {
    const gate = gateFor(1);
    expect([request(gate), request(gate)].map((r) => r.next.mock.calls.length)).toEqual([1, 0]);
  });

  it('keeps ORDER_INTAKE_RESERVED_CONNECTIONS back and waits ORDER_INTAKE_WAIT_MS, when set', () => {
    const gate = gateFor(10, { ORDER_INTAKE_RESERVED_CONNECTIONS: 7, ORDER_INTAKE_WAIT_MS: 0 });
    const requests = [request(gate), request(gate), request(gate), request(gate)];
    expect(requests.map((r) => r.next.mock.calls.length)).toEqual([1, 1, 1, 0]);
    jest.advanceTimersByTime(0);
    expect(requests[3].res.statusCode).toBe(503);
  });
});
