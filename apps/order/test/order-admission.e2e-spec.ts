import { eventually, HttpClient, InProcessApp, orderRequest, privateBroker, startSystem, System } from '@lib/testing';
import { Pool } from 'pg';
import { orderService } from '../src/order.definition';
import { OrderModule } from '../src/order.module';

const MAX_PENDING = 3;

/**
 * Admission control (ORDER_ADMISSION_MAX_PENDING): the order app alone, no
 * payment app, so every order it takes stays PENDING. Past the bound, new
 * orders are refused with 503 and Retry-After — a readable message, nothing
 * written — and taken again once the backlog has gone down.
 */
describe('order app with ORDER_ADMISSION_MAX_PENDING', () => {
  let system: System<InProcessApp>;
  let http: HttpClient;
  let sql: Pool;

  beforeAll(async () => {
    system = await startSystem({
      name: 'e2e-order-admission',
      kafka: privateBroker({ port: 29112 }),
      inProcess: { order: { module: OrderModule, definition: orderService } },
      env: { ORDER_ADMISSION_MAX_PENDING: String(MAX_PENDING), LOG_LEVEL: 'warn' },
    });
    http = system.http('order');
    sql = system.sql('order');
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  const orderCount = async () => Number((await sql.query('SELECT count(*) AS n FROM orders')).rows[0].n);

  it('refuses new orders with 503 and Retry-After while more are PENDING than the bound, and takes them again once settled', async () => {
    let taken = 0;
    for (; taken <= MAX_PENDING; taken++) await http.post('/orders').send(orderRequest()).expect(201);

    // The count is read a few times a second: POSTs are taken until the app has seen the backlog.
    const refused = await eventually(
      async () => {
        const response = await http.post('/orders').send(orderRequest());
        if (response.status === 201) taken++;
        return response;
      },
      { accept: (r) => r.status === 503, what: 'a POST refused' },
    );
    expect(refused.headers['retry-after']).toBe('1');
    // The count it last read: past the bound, at most what it took.
    const [, seen] = /^the saga is behind: (\d+) orders are waiting for their payment \(at most 3\); try again shortly$/.exec(refused.body.message) ?? [];
    expect(Number(seen)).toBeGreaterThan(MAX_PENDING);
    expect(Number(seen)).toBeLessThanOrEqual(taken);
    expect(await orderCount()).toBe(taken); // the refused POST wrote nothing

    await sql.query(`UPDATE orders SET status = 'CONFIRMED'`); // as the payments would
    await eventually(() => http.post('/orders').send(orderRequest()), { accept: (r) => r.status === 201, what: 'orders taken again' });
  });
});
