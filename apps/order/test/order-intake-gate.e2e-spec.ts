import { eventually, HttpClient, InProcessApp, orderRequest, privateBroker, startSystem, System } from '@lib/testing';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { orderService } from '../src/order.definition';
import { OrderModule } from '../src/order.module';

/**
 * The intake gate of POST /orders on the real app and database: with a pool
 * of 3 and 2 connections kept back, one order is handled at a time. The test
 * holds that one inside (its insert waits on a table lock the test holds);
 * the next orders, more than the pool has connections, wait their
 * ORDER_INTAKE_WAIT_MS and are answered 503 with Retry-After and a readable
 * message, writing nothing, while the app's other work still finds a
 * connection (with ORDER_INTAKE_RESERVED_CONNECTIONS=0 each order holds one
 * and the reads time out). Sent again with the same Idempotency-Key once the
 * first is through, they are taken.
 */
describe('order app: POST /orders while the intake gate is full', () => {
  let system: System<InProcessApp>;
  let http: HttpClient;
  let sql: Pool;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-intake-gate',
      kafka: privateBroker({ port: 29122 }),
      inProcess: { order: { module: OrderModule, definition: orderService } },
      env: {
        DATABASE_POOL_SIZE: '3',
        ORDER_INTAKE_RESERVED_CONNECTIONS: '2',
        ORDER_INTAKE_WAIT_MS: '300',
        DATABASE_LOCK_TIMEOUT_MS: '0', // the held insert waits for the test, not for a lock timeout
        LOG_LEVEL: 'warn',
      },
    });
    http = system.http('order');
    sql = system.sql('order');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const orderCount = async () => Number((await sql.query('SELECT count(*) AS n FROM orders')).rows[0].n);

  it('answers 503 with Retry-After to the orders past the gate, keeps connections for the rest, and takes the orders when sent again', async () => {
    const lock = await sql.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE orders IN EXCLUSIVE MODE'); // reads go on, inserts wait
      // Sent now (`then` starts the request), awaited once the lock is gone.
      const first = http
        .post('/orders')
        .set('Idempotency-Key', randomUUID())
        .send(orderRequest())
        .then((response) => response);
      await eventually(
        async () => (await sql.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
        { accept: (n) => Number(n) === 1, what: 'the first order waiting on the lock, inside the gate' },
      );

      // More orders than the pool has connections: without the gate each would hold one, waiting on the lock.
      const bodies = [orderRequest(), orderRequest(), orderRequest(), orderRequest()];
      const keys = bodies.map(() => randomUUID());
      const refused = await Promise.all(bodies.map((body, i) => http.post('/orders').set('Idempotency-Key', keys[i]).send(body)));
      for (const response of refused) {
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.body.message).toBe('too many orders at once; retry in 1 s (with the same Idempotency-Key)');
      }
      // The app's other work still has its connections: readiness and reads go to the database.
      await http.get('/health/ready').expect(200);
      await http.get(`/orders?customerId=${bodies[0].customerId}`).expect(200);

      await lock.query('COMMIT');
      expect((await first).status).toBe(201);
      expect(await orderCount()).toBe(1); // the refused orders wrote nothing

      for (const [i, body] of bodies.entries()) await http.post('/orders').set('Idempotency-Key', keys[i]).send(body).expect(201);
      expect(await orderCount()).toBe(1 + bodies.length);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
  }, 30_000);
});
