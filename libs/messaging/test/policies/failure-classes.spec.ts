import { InvalidEventError } from '@lib/events';
import { classifyFailure, DependencyUnavailableError, FAILURE_CLASSES, FailureClass } from '../../src';

const kafkaUnreachable = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError' });

describe('failure classes', () => {
  it.each<[string, unknown, string, FailureClass['decision']]>([
    ['an unavailable dependency (open circuit breaker)', new DependencyUnavailableError('payment gateway'), 'dependency_unavailable', 'wait'],
    [
      'one wrapped as a cause',
      new Error('authorisation failed', { cause: new DependencyUnavailableError('payment gateway') }),
      'dependency_unavailable',
      'wait',
    ],
    [
      'PostgreSQL refusing connections',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'database_unavailable',
      'wait',
    ],
    [
      'a TypeORM error wrapping a terminated connection',
      { message: 'Query failed', driverError: new Error('Connection terminated unexpectedly') },
      'database_unavailable',
      'wait',
    ],
    [
      'an admin shutdown of PostgreSQL (57P01)',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      'database_unavailable',
      'wait',
    ],
    [
      "TypeORM's released query runner (its connection failed mid-transaction, then COMMIT)",
      Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), { name: 'QueryRunnerAlreadyReleasedError' }),
      'database_unavailable',
      'wait',
    ],
    [
      "TypeORM's released query runner, for a query through its manager (the outbox insert while PostgreSQL stopped)",
      Object.assign(new Error('Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore.'), {
        name: 'QueryRunnerProviderAlreadyReleasedError',
      }),
      'database_unavailable',
      'wait',
    ],
    ['a connection exception (SQLSTATE class 08)', Object.assign(new Error('connection failure'), { code: '08006' }), 'database_unavailable', 'wait'],
    ...(
      [
        ['25006', 'a database switched read-only (failover)'],
        ['53100', 'a full disk'],
        ['53200', 'PostgreSQL out of memory'],
        ['53300', 'too many connections'],
        ['57P03', 'a database that cannot accept connections now'],
      ] as const
    ).map(([code, what]): [string, unknown, string, FailureClass['decision']] => [
      `${what} (${code})`,
      { message: 'Query failed', driverError: Object.assign(new Error(what), { code }) },
      'database_unavailable',
      'wait',
    ]),
    ...(
      [
        ['57014', 'a statement cancelled by statement_timeout'],
        ['55P03', 'a lock timeout'],
        ['40001', 'a serialization failure'],
        ['40P01', 'a deadlock'],
      ] as const
    ).map(([code, what]): [string, unknown, string, FailureClass['decision']] => [
      `${what} (${code})`,
      Object.assign(new Error(what), { code }),
      'database_contention',
      'requeue',
    ]),
    ['an unreachable broker', kafkaUnreachable, 'broker_unavailable', 'wait'],
    [
      'a wrong Kafka password',
      Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), { name: 'KafkaJSSASLAuthenticationError' }),
      'kafka_refused',
      'wait',
    ],
    [
      'a missing ACL, wrapped',
      new Error('send failed', { cause: Object.assign(new Error('Not authorized to access topics'), { type: 'TOPIC_AUTHORIZATION_FAILED' }) }),
      'kafka_refused',
      'wait',
    ],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')"), 'handler_error', 'retry'],
    ['a business rule', Object.assign(new Error('order 42 does not exist'), { code: 'ORDER_NOT_FOUND' }), 'handler_error', 'retry'],
    ['a constraint violation', Object.assign(new Error('duplicate key value'), { code: '23505' }), 'handler_error', 'retry'],
    ['an invalid outgoing event', new InvalidEventError(['data.currency must be an ISO 4217 currency code']), 'handler_error', 'retry'],
    ['something that is not an Error', { status: 'error', message: 'Internal server error' }, 'handler_error', 'retry'],
  ])('classifies %s as %s (%s)', (_, error, name, decision) => {
    expect(classifyFailure(error)).toMatchObject({ name, decision });
  });

  it('ends with a class that matches everything, so every failure has a decision', () => {
    const last = FAILURE_CLASSES[FAILURE_CLASSES.length - 1];
    expect(last.matches(undefined)).toBe(true);
    expect(FAILURE_CLASSES.map((c) => c.name)).toEqual([...new Set(FAILURE_CLASSES.map((c) => c.name))]);
  });

  it('lets an app put classes of its own in front of the standard ones', () => {
    class OutOfStockError extends Error {}
    const classes: FailureClass[] = [{ name: 'out_of_stock', decision: 'dead_letter', matches: (e) => e instanceof OutOfStockError }, ...FAILURE_CLASSES];
    expect(classifyFailure(new OutOfStockError(), classes)).toMatchObject({ name: 'out_of_stock', decision: 'dead_letter' });
    expect(classifyFailure(new Error('bug'), classes)).toMatchObject({ name: 'handler_error' });
  });
});
