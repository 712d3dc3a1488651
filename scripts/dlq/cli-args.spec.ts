import { parseDlqArgs, parseSince } from './cli-args';

const EVENT_ID = '0b8e6f7a-3c2d-4e1f-9a8b-7c6d5e4f3a21';
const NOW = Date.parse('2026-11-22T12:00:00Z');

describe('dlq arguments', () => {
  it('parses list with its filters and replay', () => {
    expect(parseDlqArgs(['list', 'payment'], NOW)).toEqual({
      command: 'list',
      app: 'payment',
      group: undefined,
      limit: undefined,
      since: undefined,
      json: false,
    });
    expect(parseDlqArgs(['list', 'order', '--limit', '20', '--since', '15m', '--json'], NOW)).toEqual({
      command: 'list',
      app: 'order',
      group: undefined,
      limit: 20,
      since: new Date('2026-11-22T11:45:00Z'),
      json: true,
    });
    expect(parseDlqArgs(['replay', 'order', '--id', EVENT_ID])).toEqual({
      command: 'replay',
      app: 'order',
      selection: { id: EVENT_ID },
      group: undefined,
      dryRun: false,
    });
    expect(parseDlqArgs(['replay', 'notification', '--all', '--dry-run', '--group', 'g'])).toEqual({
      command: 'replay',
      app: 'notification',
      selection: { all: true },
      group: 'g',
      dryRun: true,
    });
  });

  it('answers --help (and -h) with the usage, whatever else is given', () => {
    expect(parseDlqArgs(['--help'])).toEqual({ command: 'help' });
    expect(parseDlqArgs(['list', '-h'])).toEqual({ command: 'help' });
  });

  it('reads --since as an ISO time or an age', () => {
    expect(parseSince('2026-11-22T10:00:00Z', NOW).toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expect(parseSince('30s', NOW).toISOString()).toBe('2026-11-22T11:59:30.000Z');
    expect(parseSince('2h', NOW).toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expect(parseSince('1d', NOW).toISOString()).toBe('2026-11-21T12:00:00.000Z');
  });

  it.each([
    [[], 'missing command'],
    [['show', 'payment'], 'unknown command "show"'],
    [['list', 'shipping'], 'unknown app "shipping"'],
    [['list', 'payment', 'extra'], 'unexpected argument "extra"'],
    [['replay', 'payment'], 'exactly one of --id'],
    [['replay', 'payment', '--id', EVENT_ID, '--all'], 'exactly one of --id'],
    [['replay', 'payment', '--id'], "Option '--id <value>' argument missing"],
    [['list', 'payment', '--all'], '--all is for replay'],
    [['replay', 'payment', '--all', '--limit', '3'], '--limit is for list'],
    [['list', 'payment', '--limit', '0'], '--limit must be a positive whole number'],
    [['list', 'payment', '--since', 'yesterday'], '--since "yesterday" is neither'],
    [['list', 'payment', '--frobnicate'], "Unknown option '--frobnicate'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDlqArgs(argv, NOW)).toThrow(message);
  });
});
