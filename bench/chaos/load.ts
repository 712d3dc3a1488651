import { randomUUID } from 'node:crypto';

/** The payment limit (PAYMENT_MAX_AMOUNT's default, 1000.00 in minor units). */
export const PAYMENT_LIMIT = 100_000;

/** One POST attempt as the client saw it. */
export interface Attempt {
  /** Date.now() when sent and when answered (or given up on). */
  sentAt: number;
  answeredAt: number;
  /** HTTP status, 0 when no answer came (refused, reset, timed out). */
  status: number;
  error?: string;
}

/** One order the client tried to place: up to two attempts with the same Idempotency-Key. */
export interface PlacedOrder {
  key: string;
  total: number;
  attempts: Attempt[];
  /** Set when an attempt was answered 2xx: the order the system acknowledged. */
  orderId?: string;
}

/** Order i of a run: one in four above the payment limit. */
function body(run: string, i: number): { body: string; total: number } {
  const above = i % 4 === 3;
  const first = above ? PAYMENT_LIMIT - 5_000 + (i % 97) * 100 : 1_000 + ((i * 731) % 60_000);
  const second = above ? 10_000 + (i % 13) : 499 + (i % 11);
  const items = [
    { sku: 'CHAOS-A', quantity: 1, unitPrice: first },
    { sku: 'CHAOS-B', quantity: 1, unitPrice: second },
  ];
  return { body: JSON.stringify({ customerId: `${run}-c${i % 200}`, currency: 'EUR', items }), total: first + second };
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Before the one retry: what a client library waits, not a wait for an outcome. */
const RETRY_DELAY_MS = 500;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(url: string, key: string, payload: string): Promise<Attempt & { orderId?: string }> {
  const sentAt = Date.now();
  try {
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: payload,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    const answeredAt = Date.now();
    if (response.status >= 200 && response.status < 300)
      return { sentAt, answeredAt, status: response.status, orderId: (JSON.parse(text) as { id: string }).id };
    return { sentAt, answeredAt, status: response.status, error: text.slice(0, 200) };
  } catch (error) {
    return { sentAt, answeredAt: Date.now(), status: 0, error: (error as Error).message };
  }
}

/**
 * An open-loop load: `rate` orders per second, each sent on schedule whether
 * or not earlier ones were answered, round-robin over the order instances
 * (a load balancer without health checks). A POST answered 5xx, 4xx or not at
 * all is retried once, on the next instance, with the same Idempotency-Key.
 * Every order answered 2xx is acknowledged: the system owes it a settlement.
 */
export class OrderLoad {
  readonly orders: PlacedOrder[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private running: Promise<void> | undefined;
  private next = 0;

  constructor(
    private readonly run: string,
    private readonly urls: () => string[],
    private readonly rate: number,
    private readonly maxOrders = Infinity,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  /** Stops sending and resolves once every request in flight is answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await Promise.all([...this.inFlight]);
  }

  get acknowledged(): PlacedOrder[] {
    return this.orders.filter((o) => o.orderId);
  }

  private async loop(): Promise<void> {
    const start = Date.now();
    let sent = 0;
    while (!this.stopped && sent < this.maxOrders) {
      const due = Math.min(this.maxOrders, Math.floor(((Date.now() - start) / 1000) * this.rate) + 1);
      while (sent < due) {
        const task = this.place(sent++);
        this.inFlight.add(task);
        void task.finally(() => this.inFlight.delete(task));
      }
      await delay(5); // the send schedule's tick
    }
  }

  private async place(i: number): Promise<void> {
    const planned = body(this.run, i);
    const order: PlacedOrder = { key: `${this.run}-${i}-${randomUUID()}`, total: planned.total, attempts: [] };
    this.orders.push(order);
    for (let attempt = 0; attempt < 2; attempt++) {
      const urls = this.urls();
      const url = urls[this.next++ % urls.length];
      const result = await post(url, order.key, planned.body);
      order.attempts.push({ sentAt: result.sentAt, answeredAt: result.answeredAt, status: result.status, error: result.error });
      if (result.orderId) {
        order.orderId = result.orderId;
        return;
      }
      if (attempt === 0) await delay(RETRY_DELAY_MS);
    }
  }
}
