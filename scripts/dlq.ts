/**
 * Dead-letter tooling (`npm run dlq -- …`, i.e. ts-node scripts/dlq.ts):
 * - `list <app>`: prints the dead letters of `<app>.dlq`, read from the
 *   beginning up to the end as it is now, with their reasons;
 * - `replay <app> --id <eventId> | --all`: re-publishes dead letters to their
 *   original topic with their original key and value (dlq-* headers removed,
 *   `dlq-replayed-from` added). Consumers' inboxes make a replay safe.
 * Exits 0 on success, 1 on failure, 2 on bad usage (and when --id matches nothing).
 */
import { deadLetterTopic } from '@lib/events';
import { kafkaBrokers } from '@lib/infra';
import { KafkaConnectionOptions } from '@lib/kafka';
import { parseDlqArgs, USAGE } from './dlq/cli-args';
import { listDeadLetters, replayDeadLetters } from './dlq/dlq-commands';
import { formatDeadLetterList } from './dlq/format';

function connection(): KafkaConnectionOptions {
  return { brokers: kafkaBrokers(), clientId: 'dlq-tool' };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseDlqArgs(argv);
  } catch (e) {
    console.error(`dlq: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const topic = deadLetterTopic(args.app);
  if (args.command === 'list') {
    const records = await listDeadLetters(connection(), args.app, { group: args.group });
    console.log(formatDeadLetterList(topic, records));
    return 0;
  }
  const result = await replayDeadLetters(connection(), args.app, args.selection, { group: args.group, dryRun: args.dryRun, log: (l) => console.log(l) });
  for (const { record, why } of result.skipped) console.log(`skipped ${record.topic}/${record.partition}@${record.offset}: ${why}`);
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
