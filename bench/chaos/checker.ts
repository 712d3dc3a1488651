import { AppName, DEAD_LETTER_TOPICS, EVENT_TOPICS, parseEvent, Topics } from '@lib/events';
import { AppProcess, eventually, System } from '@lib/testing';
import { PAYMENT_LIMIT, PlacedOrder } from './load';

/** One invariant as the checker saw it. */
export interface InvariantResult {
  name: string;
  expected: number;
  seen: number;
  lost: number;
  duplicated: number;
  wrong: number;
  /** False is a violation; informational rows (wire duplicates) are always true. */
  ok: boolean;
  /** A few examples of what went wrong, for the report. */
  examples: string[];
}

const FINAL = new Set(['CONFIRMED', 'CANCELLED']);
const expectedStatus = (total: number) => (total > PAYMENT_LIMIT ? 'CANCELLED' : 'CONFIRMED');

/**
 * Samples the status of every order during the run, straight from the order
 * database, and notes any move back (a final status to PENDING, or from one
 * final status to the other). Errors (the database being restarted) only
 * skip a sample.
 */
export class StatusSampler {
  private readonly last = new Map<string, string>();
  readonly regressions: string[] = [];
  samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly system: System<AppProcess>) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sample();
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.system.sql('order').query<{ id: string; status: string }>('SELECT id, status FROM orders');
      this.samples++;
      for (const { id, status } of rows) {
        const before = this.last.get(id);
        if (before && before !== status && (FINAL.has(before) || status === 'PENDING')) this.regressions.push(`${id}: ${before} → ${status}`);
        this.last.set(id, status);
      }
    } catch {
      // The database is being restarted or the connection was terminated: a sample skipped.
    } finally {
      this.busy = false;
    }
  }
}

/** Every order acknowledged or found is final, nothing is left in flight, every instance is ready: what the checker waits for. */
export async function quiescent(system: System<AppProcess>): Promise<{ ok: boolean; what: string }> {
  const count = async (app: AppName, query: string) => Number((await system.sql(app).query<{ n: string }>(query)).rows[0].n);
  const pending = await count('order', `SELECT count(*) AS n FROM orders WHERE status = 'PENDING'`);
  const outbox = (await count('order', 'SELECT count(*) AS n FROM outbox')) + (await count('payment', 'SELECT count(*) AS n FROM outbox'));
  const undelivered = await count('notification', 'SELECT count(*) AS n FROM notifications WHERE delivered_at IS NULL');
  const orders = await count('order', 'SELECT count(*) AS n FROM orders');
  const payments = await count('payment', 'SELECT count(*) AS n FROM payments');
  const notified = await count(
    'notification',
    `SELECT count(DISTINCT order_id) AS n FROM notifications WHERE event_type IN ('order.confirmed', 'order.cancelled')`,
  );
  const notReady = (await readiness(system)).filter((r) => !r.ready).map((r) => r.name);
  const what = `${pending} PENDING, ${outbox} in outboxes, ${undelivered} undelivered, ${payments}/${orders} paid, ${notified}/${orders} final notifications, not ready: ${notReady.join(', ') || 'none'}`;
  return { ok: pending === 0 && outbox === 0 && undelivered === 0 && payments === orders && notified === orders && notReady.length === 0, what };
}

export async function readiness(system: System<AppProcess>): Promise<{ name: string; ready: boolean }[]> {
  return Promise.all(
    system.instances().map(async (instance) => {
      try {
        const response = await fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(3000) });
        await response.text();
        return { name: instance.name, ready: response.ok };
      } catch {
        return { name: instance.name, ready: false };
      }
    }),
  );
}

interface WireMessage {
  topic: string;
  eventId: string;
  orderId?: string;
  valid: boolean;
  reason?: string;
}

/** Reads every contract and dead-letter topic from the beginning with a fresh consumer, until the counts stop growing. */
async function readTopics(system: System<AppProcess>, orders: number): Promise<WireMessage[]> {
  const recorder = await system.record([...EVENT_TOPICS, ...DEAD_LETTER_TOPICS]);
  let previous = -1;
  await eventually(
    () => {
      const n = recorder.messages.length;
      const stable = n === previous;
      previous = n;
      const created = recorder.messages.filter((m) => m.topic === Topics.OrderCreated).length;
      return stable && created >= orders;
    },
    { timeoutMs: 120_000, intervalMs: 2000, what: `every message of the run read back (${orders} orders)` },
  ).catch(() => undefined); // a shortfall shows as lost events below
  await recorder.stop();
  return recorder.messages.map((m) => {
    const parsed = parseEvent(m.value);
    const data = parsed.ok ? (parsed.event.data as { orderId?: string }) : undefined;
    return {
      topic: m.topic,
      eventId: parsed.ok ? parsed.event.id : (m.headers['event-id'] ?? `${m.topic}@${m.partition}:${m.offset}`),
      orderId: data?.orderId,
      valid: parsed.ok,
      reason: m.headers['dlq-error-kind'] ? `${m.headers['dlq-error-kind']}: ${m.headers['dlq-error-message'] ?? ''}`.slice(0, 160) : undefined,
    };
  });
}

const take = (examples: string[]) => examples.slice(0, 5);

/**
 * The independent checker: reads the three databases and every topic at the
 * end of a run (never the apps' own counters) and states each invariant.
 */
export async function check(
  system: System<AppProcess>,
  placed: PlacedOrder[],
  sampler: StatusSampler,
): Promise<{ invariants: InvariantResult[]; wire: { messages: number; distinct: number; duplicates: number } }> {
  const q = async <T>(app: AppName, query: string) => (await system.sql(app).query(query)).rows as T[];
  const orders = await q<{ id: string; status: string; total: string; key: string | null }>(
    'order',
    'SELECT id, status, total_amount AS total, idempotency_key AS key FROM orders',
  );
  const payments = await q<{ order_id: string; status: string; reason: string | null }>('payment', 'SELECT order_id, status, reason FROM payments');
  const notifications = await q<{ order_id: string; event_type: string; channel: string; delivered: boolean }>(
    'notification',
    'SELECT order_id, event_type, channel, delivered_at IS NOT NULL AS delivered FROM notifications',
  );
  const outbox = [
    ...(await q<{ parked: boolean }>('order', 'SELECT parked_at IS NOT NULL AS parked FROM outbox')),
    ...(await q<{ parked: boolean }>('payment', 'SELECT parked_at IS NOT NULL AS parked FROM outbox')),
  ];
  const ready = await readiness(system);
  const wire = await readTopics(system, orders.length);

  const byId = new Map(orders.map((o) => [o.id, o]));
  const acknowledged = placed.filter((p) => p.orderId);
  const invariants: InvariantResult[] = [];

  // 1. Every acknowledged order exists, under its Idempotency-Key, once.
  {
    const missing = acknowledged.filter((p) => !byId.has(p.orderId!));
    const keyCount = new Map<string, number>();
    for (const o of orders) if (o.key) keyCount.set(o.key, (keyCount.get(o.key) ?? 0) + 1);
    const doubled = [...keyCount.entries()].filter(([, n]) => n > 1);
    const wrongKey = acknowledged.filter((p) => byId.has(p.orderId!) && byId.get(p.orderId!)!.key !== p.key);
    invariants.push({
      name: 'every acknowledged order exists',
      expected: acknowledged.length,
      seen: acknowledged.length - missing.length,
      lost: missing.length,
      duplicated: doubled.length,
      wrong: wrongKey.length,
      ok: missing.length === 0 && doubled.length === 0 && wrongKey.length === 0,
      examples: take([...missing.map((p) => `acknowledged ${p.orderId} missing`), ...doubled.map(([k, n]) => `key ${k}: ${n} orders`)]),
    });
  }

  // 2. Every order (acknowledged or not: a POST that timed out may have committed) is final and agrees with the payment rule.
  {
    const wrong = orders.filter((o) => FINAL.has(o.status) && o.status !== expectedStatus(Number(o.total)));
    const pending = orders.filter((o) => o.status === 'PENDING');
    invariants.push({
      name: 'orders final, by the payment rule',
      expected: orders.length,
      seen: orders.length - pending.length,
      lost: 0,
      duplicated: 0,
      wrong: wrong.length,
      ok: wrong.length === 0,
      examples: take(wrong.map((o) => `${o.id}: total ${o.total} is ${o.status}`)),
    });
    invariants.push({
      name: 'no order left PENDING',
      expected: 0,
      seen: pending.length,
      lost: 0,
      duplicated: 0,
      wrong: pending.length,
      ok: pending.length === 0,
      examples: take(pending.map((o) => `${o.id} PENDING`)),
    });
  }

  // 3. Exactly one payment per order, with the rule's decision.
  {
    const perOrder = new Map<string, typeof payments>();
    for (const p of payments) perOrder.set(p.order_id, [...(perOrder.get(p.order_id) ?? []), p]);
    const none = orders.filter((o) => !perOrder.has(o.id));
    const extra = [...perOrder.values()].reduce((n, list) => n + list.length - 1, 0);
    const orphan = payments.filter((p) => !byId.has(p.order_id));
    const wrongDecision = orders.filter((o) => {
      const [p] = perOrder.get(o.id) ?? [];
      if (!p) return false;
      return Number(o.total) > PAYMENT_LIMIT ? p.status !== 'DECLINED' || p.reason !== 'limit_exceeded' : p.status !== 'AUTHORIZED';
    });
    invariants.push({
      name: 'exactly one payment per order',
      expected: orders.length,
      seen: payments.length,
      lost: none.length,
      duplicated: extra,
      wrong: wrongDecision.length + orphan.length,
      ok: none.length === 0 && extra === 0 && wrongDecision.length === 0 && orphan.length === 0,
      examples: take([
        ...none.map((o) => `${o.id}: no payment`),
        ...wrongDecision.map((o) => `${o.id}: wrong decision`),
        ...orphan.map((p) => `payment for unknown order ${p.order_id}`),
      ]),
    });
  }

  // 4. One notification per (event, channel): order.created, payment.failed when declined, the final event; each delivered.
  {
    const rows = new Map<string, number>();
    for (const n of notifications) rows.set(`${n.order_id}|${n.event_type}|${n.channel}`, (rows.get(`${n.order_id}|${n.event_type}|${n.channel}`) ?? 0) + 1);
    const expected = orders.flatMap((o) =>
      (Number(o.total) > PAYMENT_LIMIT ? [Topics.OrderCreated, Topics.PaymentFailed, Topics.OrderCancelled] : [Topics.OrderCreated, Topics.OrderConfirmed]).map(
        (type) => `${o.id}|${type}|log`,
      ),
    );
    const expectedSet = new Set(expected);
    const missing = expected.filter((k) => !rows.has(k));
    const doubled = [...rows.entries()].filter(([, n]) => n > 1);
    const unexpected = [...rows.keys()].filter((k) => !expectedSet.has(k) && k.endsWith('|log'));
    const undelivered = notifications.filter((n) => !n.delivered);
    invariants.push({
      name: 'one notification per (event, channel)',
      expected: expected.length,
      seen: notifications.length,
      lost: missing.length,
      duplicated: doubled.reduce((n, [, c]) => n + c - 1, 0),
      wrong: unexpected.length + undelivered.length,
      ok: missing.length === 0 && doubled.length === 0 && unexpected.length === 0 && undelivered.length === 0,
      examples: take([
        ...missing.map((k) => `missing ${k}`),
        ...doubled.map(([k, n]) => `${k} ×${n}`),
        ...undelivered.map((n) => `undelivered ${n.order_id} ${n.event_type}`),
      ]),
    });
  }

  // 5. Status never moved back (sampled during the run).
  invariants.push({
    name: 'status never moved back (sampled)',
    expected: 0,
    seen: sampler.samples,
    lost: 0,
    duplicated: 0,
    wrong: sampler.regressions.length,
    ok: sampler.regressions.length === 0,
    examples: take(sampler.regressions),
  });

  // 6. Outboxes empty, nothing parked.
  {
    const parked = outbox.filter((r) => r.parked).length;
    invariants.push({
      name: 'outboxes empty, nothing parked',
      expected: 0,
      seen: outbox.length,
      lost: 0,
      duplicated: 0,
      wrong: outbox.length,
      ok: outbox.length === 0,
      examples: outbox.length ? [`${outbox.length} rows left, ${parked} parked`] : [],
    });
  }

  // 7. One event per order and step on the wire (an event written twice would be a duplicate effect upstream); none missing.
  const events = wire.filter((m) => (EVENT_TOPICS as readonly string[]).includes(m.topic));
  {
    const distinct = new Map<string, Set<string>>();
    for (const m of events) if (m.orderId) distinct.set(`${m.orderId}|${m.topic}`, (distinct.get(`${m.orderId}|${m.topic}`) ?? new Set()).add(m.eventId));
    const expected = orders.flatMap((o) =>
      (Number(o.total) > PAYMENT_LIMIT
        ? [Topics.OrderCreated, Topics.PaymentFailed, Topics.OrderCancelled]
        : [Topics.OrderCreated, Topics.PaymentCompleted, Topics.OrderConfirmed]
      ).map((topic) => `${o.id}|${topic}`),
    );
    const missing = expected.filter((k) => !distinct.has(k));
    const doubled = [...distinct.entries()].filter(([, ids]) => ids.size > 1);
    const expectedSet = new Set(expected);
    const unexpected = [...distinct.keys()].filter((k) => !expectedSet.has(k));
    invariants.push({
      name: 'one event per order and step on the wire',
      expected: expected.length,
      seen: [...distinct.values()].reduce((n, ids) => n + ids.size, 0),
      lost: missing.length,
      duplicated: doubled.length,
      wrong: unexpected.length,
      ok: missing.length === 0 && doubled.length === 0 && unexpected.length === 0,
      examples: take([
        ...missing.map((k) => `no ${k}`),
        ...doubled.map(([k, ids]) => `${k}: ${ids.size} distinct events`),
        ...unexpected.map((k) => `unexpected ${k}`),
      ]),
    });
  }

  // 8. No valid event in any dead-letter topic (the load sends only valid ones, so any letter is a violation; valid ones are the worse kind).
  {
    const letters = wire.filter((m) => (DEAD_LETTER_TOPICS as readonly string[]).includes(m.topic));
    const valid = letters.filter((m) => m.valid);
    invariants.push({
      name: 'no event in a dead-letter topic',
      expected: 0,
      seen: letters.length,
      lost: 0,
      duplicated: 0,
      wrong: letters.length,
      ok: letters.length === 0,
      examples: take(letters.map((m) => `${m.topic}: ${m.valid ? 'valid' : 'invalid'} event ${m.eventId} (${m.reason ?? 'no reason'})`)),
    });
    void valid;
  }

  // 9. Every instance ready again.
  {
    const notReady = ready.filter((r) => !r.ready);
    invariants.push({
      name: 'every instance ready again',
      expected: ready.length,
      seen: ready.length - notReady.length,
      lost: notReady.length,
      duplicated: 0,
      wrong: 0,
      ok: notReady.length === 0,
      examples: notReady.map((r) => `${r.name} not ready`),
    });
  }

  // Wire duplicates: allowed (at-least-once), counted.
  const ids = new Set(events.map((m) => `${m.topic}|${m.eventId}`));
  const wireFigures = { messages: events.length, distinct: ids.size, duplicates: events.length - ids.size };
  invariants.push({
    name: 'duplicates on the wire (allowed, counted)',
    expected: wireFigures.distinct,
    seen: wireFigures.messages,
    lost: 0,
    duplicated: wireFigures.duplicates,
    wrong: 0,
    ok: true,
    examples: [],
  });
  return { invariants, wire: wireFigures };
}
