/**
 * Outbox tooling (`npm run outbox -- …`, i.e. ts-node scripts/outbox.ts):
 * - `list <app>`: the parked events of the app's outbox (events the relay
 *   gave up on after OUTBOX_MAX_ATTEMPTS failed publishes), with the error;
 * - `release <app> --all | --id <eventId>`: puts them back in line; the
 *   app's active relay publishes them (consumers' inboxes make a repeat safe).
 * The database is the app's `<APP>_DATABASE_URL` (or its default).
 * Exits 0 on success, 1 on failure, 2 on bad usage (and when --id matches nothing).
 */
import { databaseUrls } from '@lib/infra';
import { listParkedRows, releaseParkedRows } from '@lib/outbox';
import { parseArgs } from 'node:util';
import { Client } from 'pg';

const APPS_WITH_OUTBOX = ['order', 'payment'] as const;
type OutboxApp = (typeof APPS_WITH_OUTBOX)[number];

const USAGE = `usage: npm run outbox -- list <app>
       npm run outbox -- release <app> (--all | --id <eventId>)
  <app>  ${APPS_WITH_OUTBOX.join(' | ')} (the apps that publish through an outbox)
  list      the parked events (not published after OUTBOX_MAX_ATTEMPTS failures), with their last error
  release   puts parked events back in line; the app's relay publishes them
  --all     every parked event of the app
  --id      one event, by its event id
  -h, --help`;

type Args = { command: 'list'; app: OutboxApp } | { command: 'release'; app: OutboxApp; selection: { all: true } | { eventId: string } } | { command: 'help' };

function parse(argv: string[]): Args {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { all: { type: 'boolean' }, id: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return { command: 'help' };
  const [command, app, ...extra] = positionals;
  if (command !== 'list' && command !== 'release') throw new Error(command ? `unknown command "${command}"` : 'a command is needed');
  if (!APPS_WITH_OUTBOX.includes(app as OutboxApp)) throw new Error(app ? `"${app}" has no outbox` : 'an app is needed');
  if (extra.length > 0) throw new Error(`unexpected ${extra.join(' ')}`);
  if (command === 'list') {
    if (values.all || values.id) throw new Error('list takes no --all or --id');
    return { command, app: app as OutboxApp };
  }
  if (Boolean(values.all) === Boolean(values.id)) throw new Error('release needs exactly one of --all and --id <eventId>');
  return { command, app: app as OutboxApp, selection: values.id ? { eventId: values.id } : { all: true } };
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    console.error(`outbox: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const url = databaseUrls()[args.app === 'order' ? 'ORDER_DATABASE_URL' : 'PAYMENT_DATABASE_URL'];
  const client = new Client({ connectionString: url, application_name: 'outbox-tool' });
  client.on('error', () => undefined); // a dropped connection fails the query in hand, which reports it
  await client.connect();
  try {
    if (args.command === 'list') {
      const parked = await listParkedRows(client);
      for (const row of parked) {
        console.log(`${row.eventId}  ${row.topic}  key ${row.key}  ${row.attempts} attempts, parked ${row.parkedAt.toISOString()}: ${row.lastError ?? ''}`);
      }
      console.log(`${args.app} outbox: ${parked.length} parked event(s)`);
      return 0;
    }
    const released = await releaseParkedRows(client, args.selection);
    console.log(`${args.app} outbox: released ${released.length} parked event(s)${released.length ? `: ${released.join(', ')}` : ''}`);
    return 'eventId' in args.selection && released.length === 0 ? 2 : 0;
  } finally {
    await client.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`outbox ${process.argv[2] ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
