import { AppName, Apps } from '@lib/events';
import { ReplaySelection } from './replay-selection';

export const USAGE = [
  'usage: npm run dlq -- list <app> [--group <consumer-group>]',
  '       npm run dlq -- replay <app> (--id <eventId> | --all) [--group <consumer-group>] [--dry-run]',
  `  <app>: ${Apps.join(' | ')} (reads <app>.dlq; KAFKA_BROKERS, default localhost:9092)`,
].join('\n');

export type DlqCommand =
  | { command: 'list'; app: AppName; group?: string }
  | { command: 'replay'; app: AppName; selection: ReplaySelection; group?: string; dryRun: boolean };

/** Parses `dlq` arguments, or throws an Error whose message is the one line to print (with the usage). */
export function parseDlqArgs(argv: readonly string[]): DlqCommand {
  const [command, app, ...rest] = argv;
  if (command !== 'list' && command !== 'replay') throw new Error(command ? `unknown command "${command}"` : 'missing command');
  if (!app || !(Apps as readonly string[]).includes(app)) throw new Error(app ? `unknown app "${app}" (one of ${Apps.join(', ')})` : 'missing <app>');
  let group: string | undefined;
  let id: string | undefined;
  let all = false;
  let dryRun = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--group') group = value();
    else if (arg === '--id' && command === 'replay') id = value();
    else if (arg === '--all' && command === 'replay') all = true;
    else if (arg === '--dry-run' && command === 'replay') dryRun = true;
    else throw new Error(`unexpected argument "${arg}"`);
  }
  if (command === 'list') return { command, app: app as AppName, group };
  if ((id === undefined) === !all) throw new Error('replay needs exactly one of --id <eventId> or --all');
  return { command, app: app as AppName, selection: id !== undefined ? { id } : { all: true }, group, dryRun };
}
