import { givenBrokersFrom, KafkaSource } from '@lib/testing';

describe('givenBrokersFrom', () => {
  const VARIABLE = 'TOOLKIT_SPEC_KAFKA_BROKERS';
  const otherwise: KafkaSource = { start: () => Promise.reject(new Error('the fallback was started')) };
  afterEach(() => delete process.env[VARIABLE]);

  it('gives the brokers the variable lists, trimmed, and leaves them running on stop()', async () => {
    process.env[VARIABLE] = ' localhost:9092, localhost:9094 ,localhost:9096';
    const kafka = await givenBrokersFrom(VARIABLE, otherwise).start('suite');
    expect(kafka.brokers).toEqual(['localhost:9092', 'localhost:9094', 'localhost:9096']);
    expect(kafka.nodes).toEqual([]);
    await expect(kafka.stop()).resolves.toBeUndefined();
  });

  it.each([[undefined], [''], [' , ']])('falls back to the other source when the variable is %p', (value) => {
    if (value !== undefined) process.env[VARIABLE] = value;
    expect(givenBrokersFrom(VARIABLE, otherwise)).toBe(otherwise);
  });
});
