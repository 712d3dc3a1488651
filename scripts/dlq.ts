/**
 * Dead-letter tooling (`npm run dlq -- …`, i.e. ts-node scripts/dlq.ts) over
 * `@lib/dead-letters`, the library the ops console uses too:
 * - `list <app>`: the dead letters of `<app>.dlq`, read from the beginning up
 *   to the end as it is now, with their reasons and what the console recorded
 *   for each (replayed or discarded, by whom, with the note);
 * - `replay <app> --id <eventId> | --all`: re-publishes dead letters to their
 *   original topic with their original key and value (dlq-* headers removed,
 *   `dlq-replayed-from` added). Consumers' inboxes make a replay safe.
 * `--help` prints the usage. Reads `.env` like the apps (real variables win)
 * and connects with the same Kafka settings (KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL*).
 * Exits 0 on success, 1 on failure, 2 on bad usage (and when --id matches nothing).
 */
import {
  DeadLetterAction,
  DeadLetterRecord,
  deadLetterId,
  failedAtOf,
  DEFAULT_CONSOLE_URL,
  fetchConsoleActions,
  formatDeadLetterList,
  listDeadLetters,
  replayDeadLetters,
  valueText,
} from '@lib/dead-letters';
import { deadLetterTopic } from '@lib/events';
import { loadDotEnv, toolKafkaConnection } from '@lib/infra';
import { KafkaConnectionOptions } from '@lib/kafka';
import { parseDlqArgs, USAGE } from './dlq/cli-args';

/** KAFKA_BROKERS and the TLS/SASL settings, validated as the apps validate them. */
function connection(): KafkaConnectionOptions {
  return toolKafkaConnection('dlq-tool');
}

function asJson(record: DeadLetterRecord, action: DeadLetterAction | undefined) {
  const { key, value, ...rest } = record;
  return {
    id: deadLetterId(record),
    ...rest,
    key: key?.toString('utf8') ?? null,
    value: valueText(value).text,
    state: action?.action ?? 'waiting',
    action: action ?? null,
  };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseDlqArgs(argv);
  } catch (e) {
    console.error(`dlq: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  loadDotEnv();
  const topic = deadLetterTopic(args.app);
  if (args.command === 'list') {
    const all = await listDeadLetters(connection(), args.app, { group: args.group, since: args.since });
    const newestLast = [...all].sort((a, b) => failedAtOf(a).getTime() - failedAtOf(b).getTime());
    const records = args.limit ? newestLast.slice(-args.limit) : newestLast;
    const consoleUrl = process.env.CONSOLE_URL?.trim() || DEFAULT_CONSOLE_URL;
    const actions = await fetchConsoleActions(consoleUrl, args.app).catch((e: Error) => {
      console.error(`dlq: the console at ${consoleUrl} did not answer (${e.message}): replayed/discarded state unknown`);
      return undefined;
    });
    if (args.json)
      console.log(
        JSON.stringify(
          records.map((r) => asJson(r, actions?.get(deadLetterId(r)))),
          null,
          2,
        ),
      );
    else console.log(formatDeadLetterList(topic, records, actions));
    return 0;
  }
  const result = await replayDeadLetters(connection(), args.app, args.selection, { group: args.group, dryRun: args.dryRun, log: (l) => console.log(l) });
  for (const { record, why } of result.skipped) console.log(`skipped ${deadLetterId(record)}: ${why}`);
  if (result.replayed.length === 0) {
    console.log('id' in args.selection ? `${topic}: no replayable dead letter of event ${args.selection.id}` : `${topic}: nothing to replay`);
    return 'id' in args.selection ? 2 : 0;
  }
  console.log(`${topic}: ${args.dryRun ? 'would replay' : 'replayed'} ${result.replayed.length}, skipped ${result.skipped.length}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`dlq ${process.argv[2] ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
