/**
 * A relay in a process of its own, for the crash test: the test kills it with
 * SIGKILL and starts it again. Run with
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register libs/outbox/test/relay-process.ts
 *
 * Environment:
 *   OUTBOX_DATABASE_URL  database holding the outbox (required)
 *   KAFKA_BROKERS        comma-separated (default localhost:9092)
 *   OUTBOX_BATCH_SIZE    rows per batch (default 500)
 *   OUTBOX_LEASE_MS      the relay's lease (default 2000 ms here)
 *   HANG_AFTER_ACKS      after the broker acknowledged this many batches, hang
 *                        before the relay deletes the last one: the worst moment
 *                        to die (sent, not yet marked sent)
 *
 * Prints one line per acknowledged batch, `acked <batch number> <rows>`, then
 * `hanging` when it hangs, so the test knows when to kill it.
 */
import { kafkaBrokers } from '@lib/infra';
import { DurableProducer, OutgoingMessage } from '@lib/kafka';
import { OutboxRelay } from '../src';

const url = process.env.OUTBOX_DATABASE_URL;
if (!url) throw new Error('OUTBOX_DATABASE_URL is required');
const brokers = kafkaBrokers();
const batchSize = Number(process.env.OUTBOX_BATCH_SIZE ?? 500);
const hangAfter = process.env.HANG_AFTER_ACKS ? Number(process.env.HANG_AFTER_ACKS) : undefined;

const producer = new DurableProducer({ brokers, clientId: `outbox-relay-process-${process.pid}` });
let batches = 0;
const relay = new OutboxRelay({
  connectionString: url,
  batchSize,
  pollIntervalMs: 200,
  standbyRetryMs: 100,
  // A killed relay's successor waits for its lease to expire: short here, so the crash test does not wait 15 s per crash.
  leaseMs: Number(process.env.OUTBOX_LEASE_MS ?? 2000),
  publisher: {
    async send(messages: readonly OutgoingMessage[]) {
      const result = await producer.send(messages);
      batches++;
      process.stdout.write(`acked ${batches} ${messages.length}\n`);
      if (hangAfter !== undefined && batches >= hangAfter) {
        process.stdout.write('hanging\n');
        await new Promise(() => undefined);
      }
      return result;
    },
  },
  logger: { log: (m) => process.stdout.write(`log ${m}\n`), warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
});
relay.start();
process.stdout.write('started\n');

process.on('SIGTERM', () => {
  void relay
    .stop()
    .then(() => producer.disconnect())
    .then(() => process.exit(0));
});
