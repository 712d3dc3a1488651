import { AppProcess, eventually, PrivatePostgres, privateBroker, startPrivatePostgres, startSystem, System } from '@lib/testing';
import { randomUUID } from 'node:crypto';

jest.setTimeout(300_000);

const OUTAGE_MS = 10_000;
const WORKERS = 4;

interface Outcome {
  key: string;
  body: string;
  status: number;
  retryAfter: string | null;
  at: number;
}

/**
 * Issue 11, failure 12: "HTTP answers 500 while the database is away". The
 * order app runs as a process on a PostgreSQL server of the suite's own,
 * which the test stops for 10 s while clients keep posting orders. A
 * database outage is the server's trouble, not a bug: every refused request
 * must be a 503 with Retry-After, the log must say "database", and a retry
 * with the same Idempotency-Key afterwards creates the order exactly once.
 */
describe('the order app while its PostgreSQL server is stopped under HTTP load', () => {
  let postgres: PrivatePostgres;
  let system: System<AppProcess>;

  beforeAll(async () => {
    postgres = await startPrivatePostgres('e2e-http-db-outage', 25461);
    system = await startSystem({
      name: 'e2e-http-db-outage',
      kafka: privateBroker({ port: 28712 }),
      postgresUrl: postgres.url(),
      processes: { order: 1 },
      env: { LOG_FORMAT: 'json' },
    });
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    await postgres?.destroy();
  }, 120_000);

  const post = async (key: string, body: string): Promise<Outcome> => {
    const at = Date.now();
    try {
      const response = await fetch(`${system.instance('order').url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      await response.text();
      return { key, body, status: response.status, retryAfter: response.headers.get('retry-after'), at };
    } catch {
      return { key, body, status: 0, retryAfter: null, at }; // no answer at all: counted as a failure below
    }
  };

  it("answers every refused POST /orders with 503 and Retry-After (never 500), logs the outage as the database's, and a retry with the same key creates the order once", async () => {
    const order = system.instance('order');
    const outcomes: Outcome[] = [];
    let loading = true;
    const worker = async (w: number) => {
      for (let i = 0; loading; i++) {
        const body = JSON.stringify({ customerId: `db-outage-${w}`, currency: 'EUR', items: [{ sku: 'DBO', quantity: 1, unitPrice: 100 + i }] });
        outcomes.push(await post(`db-outage-${w}-${i}-${randomUUID()}`, body));
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    try {
      await eventually(() => outcomes.filter((o) => o.status === 201).length, { accept: (n) => n >= 20, what: 'orders accepted before the outage' });
      const linesBefore = order.lines.length;
      await postgres.stop();
      const stoppedAt = Date.now();
      // The outage lasts OUTAGE_MS while the load goes on; refusals must have been seen in it.
      await eventually(() => ({ refused: outcomes.filter((o) => o.at >= stoppedAt && o.status !== 201).length, elapsed: Date.now() - stoppedAt }), {
        accept: ({ refused, elapsed }) => refused > 0 && elapsed >= OUTAGE_MS,
        timeoutMs: OUTAGE_MS + 30_000,
        what: `refusals during a ${OUTAGE_MS} ms outage`,
      });
      await postgres.start();
      const restartedAt = Date.now();
      await eventually(() => outcomes.filter((o) => o.at >= restartedAt && o.status === 201).length, {
        accept: (n) => n >= 5,
        timeoutMs: 60_000,
        what: 'orders accepted again after the database returned',
      });
      loading = false;
      await Promise.all(workers);

      const refused = outcomes.filter((o) => o.status !== 201);
      const byStatus = Object.fromEntries([...new Set(outcomes.map((o) => o.status))].map((s) => [s, outcomes.filter((o) => o.status === s).length]));
      process.stdout.write(`POST /orders during a ${OUTAGE_MS} ms database outage: ${JSON.stringify(byStatus)} (${outcomes.length} requests)\n`);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.filter((o) => o.status !== 503).map((o) => o.status)).toEqual([]);
      expect(refused.filter((o) => o.retryAfter === null || !(Number(o.retryAfter) > 0))).toEqual([]);

      // The app's log names the database, and never blames Kafka for the database's port.
      const during = order.lines.slice(linesBefore);
      expect(during.filter((line) => /database unavailable/.test(line)).length).toBeGreaterThan(0);
      expect(during.filter((line) => /Kafka unavailable/.test(line) && line.includes(':25461'))).toEqual([]);

      // A retry with the same key creates each refused order once.
      for (const o of refused) expect([200, 201]).toContain((await post(o.key, o.body)).status);
      const keys = refused.map((o) => o.key);
      const { rows } = await system
        .sql('order')
        .query<{ key: string; n: string }>(
          'SELECT idempotency_key AS key, count(*) AS n FROM orders WHERE idempotency_key = ANY($1) GROUP BY idempotency_key',
          [keys],
        );
      expect(rows.length).toBe(keys.length);
      expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    } finally {
      loading = false;
      await Promise.all(workers);
    }
  });
});
