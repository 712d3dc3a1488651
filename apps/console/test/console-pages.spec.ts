import { toDeadLetterRecord } from '@lib/dead-letters';
import { BadRequestException } from '@nestjs/common';
import { appOfTopic, orderIdOf } from '../src/dead-letters/dead-letter-store';
import { carriesToken, operatorOf } from '../src/web/console-token';
import { parseFilter } from '../src/web/console.controller';
import { html, Html } from '../src/web/html';
import { chart } from '../src/web/pages';

describe('console pages and filters', () => {
  it('escapes every interpolated value unless it is already Html', () => {
    const evil = '<script>alert("x")</script>';
    expect(html`<td>${evil}</td>`.text).toBe('<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>');
    expect(html`<td>${new Html('<b>ok</b>')}${[1, ' & ', 2]}</td>`.text).toBe('<td><b>ok</b>1 &amp; 2</td>');
  });

  it('reads the dead-letter filters, times without a zone as UTC, and answers 400 naming a bad one', () => {
    const { query, raw, page } = parseFilter({ app: 'payment', kind: 'not_json', since: '2026-11-22T10:00', state: 'waiting', page: '2', q: ' ' });
    expect(query).toMatchObject({ app: 'payment', kind: 'not_json', state: 'waiting', since: new Date('2026-11-22T10:00:00Z'), q: undefined });
    expect(raw).toEqual({ app: 'payment', kind: 'not_json', since: '2026-11-22T10:00', state: 'waiting' });
    expect(page).toBe(2);
    expect(() => parseFilter({ app: 'shipping' })).toThrow(BadRequestException);
    expect(() => parseFilter({ since: 'yesterday' })).toThrow('since must be a date and time');
    expect(() => parseFilter({ state: 'lost' })).toThrow('state must be one of waiting, replayed, discarded');
    expect(() => parseFilter({ page: '0' })).toThrow('page must be a positive whole number');
  });

  it('knows the app of a dead-letter topic and the order a dead letter is about', () => {
    expect(appOfTopic('payment.dlq')).toBe('payment');
    expect(appOfTopic('orders.dlq')).toBeNull();
    const base = { topic: 'order.dlq', partition: 0, offset: '1', timestamp: '0', headers: {} };
    expect(orderIdOf(toDeadLetterRecord({ ...base, key: Buffer.from('k-1'), value: Buffer.from('{"data":{"orderId":"o-1"}}') }))).toBe('o-1');
    expect(orderIdOf(toDeadLetterRecord({ ...base, key: Buffer.from('k-1'), value: Buffer.from('not json') }))).toBe('k-1');
  });

  it('takes the token from a bearer header or the sign-in cookie, and the operator from the cookie', () => {
    expect(carriesToken({ headers: { authorization: 'Bearer s3cret' } }, 's3cret')).toBe(true);
    expect(carriesToken({ headers: { cookie: 'a=b; console_token=s3cret' } }, 's3cret')).toBe(true);
    expect(carriesToken({ headers: { authorization: 'Bearer s3cre' } }, 's3cret')).toBe(false);
    expect(carriesToken({ headers: {} }, 's3cret')).toBe(false);
    expect(operatorOf({ headers: { cookie: 'console_operator=ana%20ops' } })).toBe('ana ops');
    expect(operatorOf({ headers: {} })).toBe('api');
  });

  it('draws the chart as an inline SVG with one line for throughput and one for lag', () => {
    const now = Date.now();
    const svg = chart(
      [
        { at: now - 2000, eventsPerSecond: 1, lag: 4 },
        { at: now, eventsPerSecond: 3, lag: 0 },
      ],
      now,
    ).text;
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('now 3.0');
  });
});
