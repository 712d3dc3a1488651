import { AppName, Apps } from '@lib/events';
import type { ReplaySelection } from '@lib/dead-letters';
import { parseArgs } from 'node:util';

export const USAGE = [
  'usage: npm run dlq -- list <app> [--limit <n>] [--since <time>] [--group <consumer-group>] [--json]',
  '       npm run dlq -- replay <app> (--id <eventId> | --all) [--group <consumer-group>] [--dry-run]',
  '       npm run dlq -- --help',
  '',
  `  <app>        ${Apps.join(' | ')}: reads <app>.dlq on KAFKA_BROKERS (default localhost:9092; .env is read like the apps do)`,
  '  --limit <n>  the n most recent dead letters only',
  '  --since <t>  dead letters that failed at or after t: an ISO time (2026-11-22T10:00:00Z) or an age (30s, 15m, 2h, 1d)',
  '  --json       one JSON array instead of text',
  '  --group <g>  dead letters written by consumer group g only',
  '  --id <id>    replay the latest dead letter of event <id>; --all: one per event',
  '  --dry-run    say what would be replayed, send nothing',
  '',
  '  list shows what the ops console (CONSOLE_URL, default http://localhost:3000) recorded: replayed or discarded, by whom, with the note.',
].join('\n');

export type DlqCommand =
  | { command: 'help' }
  | { command: 'list'; app: AppName; group?: string; limit?: number; since?: Date; json: boolean }
  | { command: 'replay'; app: AppName; selection: ReplaySelection; group?: string; dryRun: boolean };

const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since`: an ISO time, or an age back from `now` (`15m`). */
export function parseSince(text: string, now = Date.now()): Date {
  const age = AGE.exec(text);
  if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new Error(`--since "${text}" is neither a time (2026-11-22T10:00:00Z) nor an age (30s, 15m, 2h, 1d)`);
  return new Date(at);
}

/** Parses `dlq` arguments (node:util parseArgs), or throws an Error whose message is the one line to print (with the usage). */
export function parseDlqArgs(argv: readonly string[], now = Date.now()): DlqCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        group: { type: 'string' },
        limit: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean' },
        id: { type: 'string' },
        all: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    // parseArgs says e.g. "Unknown option '--x'" or "Option '--id <value>' argument missing"; keep its words, drop its advice.
    throw new Error((error as Error).message.split('. ')[0].replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, app, ...extra] = positionals;
  if (command !== 'list' && command !== 'replay') throw new Error(command ? `unknown command "${command}"` : 'missing command');
  if (!app || !(Apps as readonly string[]).includes(app)) throw new Error(app ? `unknown app "${app}" (one of ${Apps.join(', ')})` : 'missing <app>');
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}"`);
  const only = (names: (keyof typeof values)[], cmd: string) => {
    for (const name of names) if (values[name] !== undefined) throw new Error(`--${name} is for ${cmd}`);
  };
  if (command === 'list') {
    only(['id', 'all', 'dry-run'], 'replay');
    let limit: number | undefined;
    if (values.limit !== undefined) {
      if (!/^[1-9]\d*$/.test(values.limit)) throw new Error(`--limit must be a positive whole number, not "${values.limit}"`);
      limit = Number(values.limit);
    }
    const since = values.since !== undefined ? parseSince(values.since, now) : undefined;
    return { command, app: app as AppName, group: values.group, limit, since, json: values.json ?? false };
  }
  only(['limit', 'since', 'json'], 'list');
  if ((values.id === undefined) === !values.all) throw new Error('replay needs exactly one of --id <eventId> or --all');
  return {
    command,
    app: app as AppName,
    selection: values.id !== undefined ? { id: values.id } : { all: true },
    group: values.group,
    dryRun: values['dry-run'] ?? false,
  };
}
