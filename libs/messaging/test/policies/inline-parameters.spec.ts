import { inlineParameters } from '../../src';

describe('inlineParameters (a statement for the simple protocol)', () => {
  it('puts each parameter in as the escaped text pg would send for it', () => {
    const at = new Date('2026-11-30T12:00:00.000Z');
    expect(inlineParameters('SELECT $1, $2, $3::jsonb, $4::int[], $5, $6, $10', ["it's", null, { a: 1 }, [1, 2], 12.5, true, 0, 0, 0, 'tenth'])).toBe(
      `SELECT 'it''s', NULL, '{"a":1}'::jsonb, '{"1","2"}'::int[], '12.5', 'true', 'tenth'`,
    );
    expect(inlineParameters('SELECT $1::timestamptz', [at])).toMatch(/^SELECT '2026-11-30T\d\d:00:00\.000[+-]\d\d:\d\d'::timestamptz$/);
    expect(inlineParameters('SELECT $1', ['back\\slash'])).toBe(`SELECT  E'back\\\\slash'`);
  });

  it('leaves quoted strings and identifiers alone, also when they hold a $n', () => {
    expect(inlineParameters(`SELECT '$1 costs', "col$2", $1 FROM t WHERE a = 'it''s $1'`, ['x', 'y'])).toBe(
      `SELECT '$1 costs', "col$2", 'x' FROM t WHERE a = 'it''s $1'`,
    );
  });

  it('refuses a parameter it does not have, and a binary one', () => {
    expect(() => inlineParameters('SELECT $2', ['only one'])).toThrow('no parameter $2 (1 given)');
    expect(() => inlineParameters('SELECT $1', [Buffer.from('ab')])).toThrow('parameter $1 is binary');
  });
});
