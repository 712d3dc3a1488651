import 'reflect-metadata';
import { CommonEnv, InvalidConfigError, kafkaConnection, validateEnv } from '@lib/service';
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

  describe('Kafka security settings that cannot be half-set', () => {
    const problems = (env: Record<string, string>) => {
      try {
        validateEnv(CommonEnv, env);
        return [];
      } catch (error) {
        if (error instanceof InvalidConfigError) return error.problems;
        throw error;
      }
    };

    it.each([
      [
        { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'pw' },
        'KAFKA_SASL_USERNAME must be set when KAFKA_SASL_MECHANISM is scram-sha-512 (not set)',
      ],
      [
        { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'order' },
        'KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is scram-sha-256 (not set)',
      ],
      [
        { KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'pw' },
        'KAFKA_SASL_MECHANISM must be set (plain, scram-sha-256 or scram-sha-512) when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is (not set)',
      ],
      [
        { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'pw' },
        expect.stringContaining('KAFKA_SSL must be true with KAFKA_SASL_MECHANISM=plain'),
      ],
      [{ KAFKA_SSL_CA_FILE: __filename }, 'KAFKA_SSL must be true when KAFKA_SSL_CA_FILE is set'],
      [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, 'KAFKA_SSL_CA_FILE must name a readable file (got "/nonexistent/ca.pem")'],
      [{ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: __filename }, 'KAFKA_SSL_KEY_FILE must be set with KAFKA_SSL_CERT_FILE (not set)'],
    ])('refuses %o, naming the variable', (env, problem) => {
      expect(problems(env)).toEqual([problem]);
    });

    it.each([
      [{}],
      [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: __filename, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'pw' }],
      [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: __filename, KAFKA_SSL_CERT_FILE: __filename, KAFKA_SSL_KEY_FILE: __filename }],
      [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SASL_ALLOW_PLAINTEXT: 'true' }],
      [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SSL: 'true' }],
    ])('takes complete settings %o', (env) => {
      expect(problems(env)).toEqual([]);
    });

    it('hands complete settings to the Kafka client: TLS files and SASL credentials', () => {
      const env = validateEnv(CommonEnv, {
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: __filename,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'order',
        KAFKA_SASL_PASSWORD: 'pw',
      });
      expect(kafkaConnection('order', env)).toMatchObject({
        ssl: { caFile: __filename },
        sasl: { mechanism: 'scram-sha-512', username: 'order', password: 'pw' },
      });
    });
  });
});
