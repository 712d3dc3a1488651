import 'reflect-metadata';
import { CommonEnv, InvalidConfigError, validateEnv } from '@lib/service';
import { OrderEnv } from './order.env';

function thrown(fn: () => unknown): InvalidConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidConfigError) return error;
    throw error;
  }
  throw new Error('expected InvalidConfigError');
}

describe('the order app configuration, read by validateEnv', () => {
  it('gives every variable its documented default when nothing is set', () => {
    const env = validateEnv(OrderEnv, {});
    expect(env).toMatchObject({ KAFKA_BROKERS: ['localhost:9092'], KAFKA_SSL: false, ORDER_PORT: 3001, CONSUMER_MAX_ATTEMPTS: 5, LOG_FORMAT: 'pretty' });
  });

  it('converts what it reads: numbers, booleans, lists', () => {
    const env = validateEnv(OrderEnv, { ORDER_PORT: '4001', KAFKA_SSL: 'false', KAFKA_BROKERS: 'a:9092, b:9093' });
    expect(env).toMatchObject({ ORDER_PORT: 4001, KAFKA_SSL: false, KAFKA_BROKERS: ['a:9092', 'b:9093'] });
    expect(validateEnv(CommonEnv, { KAFKA_SSL: 'true' }).KAFKA_SSL).toBe(true);
  });

  it.each([
    [{ ORDER_PORT: '70000' }, 'Invalid configuration: ORDER_PORT must not be greater than 65535 (got "70000")'],
    [{ ORDER_PORT: 'abc' }, 'Invalid configuration: ORDER_PORT must be an integer number (got "abc")'],
    [{ KAFKA_BROKERS: 'localhost' }, 'Invalid configuration: KAFKA_BROKERS must be a comma-separated list of host:port (got "localhost")'],
    [{ ORDER_DATABASE_URL: 'mysql://x' }, 'Invalid configuration: ORDER_DATABASE_URL must be a postgres:// URL (got "mysql://x")'],
    [{ LOG_FORMAT: 'xml' }, 'Invalid configuration: LOG_FORMAT must be json or pretty (got "xml")'],
  ])('stops with one line naming the variable for %j', (raw, line) => {
    expect(thrown(() => validateEnv(OrderEnv, raw)).message).toBe(line);
  });

  it('reports every bad variable, one line each, not only the first', () => {
    const error = thrown(() => validateEnv(OrderEnv, { ORDER_PORT: '70000', LOG_FORMAT: 'xml', CONSUMER_MAX_ATTEMPTS: 'many', KAFKA_SSL: 'false' }));
    expect(error.message.split('\n').sort()).toEqual(
      [
        'Invalid configuration: ORDER_PORT must not be greater than 65535 (got "70000")',
        'Invalid configuration: LOG_FORMAT must be json or pretty (got "xml")',
        'Invalid configuration: CONSUMER_MAX_ATTEMPTS must be an integer number (got "many")',
      ].sort(),
    );
    expect(error.problems).toHaveLength(3);
  });

  it('ignores variables it does not know (the rest of the environment)', () => {
    expect(() => validateEnv(OrderEnv, { PATH: '/usr/bin', SOMETHING_ELSE: 'x' })).not.toThrow();
  });

  it.each([
    [{ ORDER_DATABASE_URL: 'postgress://order_app:hunter2@db:5432/orders' }, 'ORDER_DATABASE_URL', 'postgress://order_app:***@db:5432/orders'],
    [{ ORDER_DATABASE_URL: 'mysql://db/orders?password=hunter2' }, 'ORDER_DATABASE_URL', 'mysql://db/orders?password=***'],
  ])('names the variable but masks the password of a bad URL (%o)', (env, variable, masked) => {
    const error = thrown(() => validateEnv(OrderEnv, env));
    expect(error.message).toContain(variable);
    expect(error.message).toContain(masked);
    expect(error.message).not.toContain('hunter2');
  });
});
