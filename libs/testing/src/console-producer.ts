import { kafkaBrokers } from '@lib/infra';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin');
const PRODUCER = path.join(BIN, 'kafka-console-producer.sh');
const CONSUMER = path.join(BIN, 'kafka-console-consumer.sh');

/** How the console producer sends: `--compression-codec`, and its largest request (`max.request.size`, checked before compression). */
export interface ConsoleProducerOptions {
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  maxRequestBytes?: number;
  /** A client properties file, e.g. the SASL_SSL settings of a secured broker (`--producer.config`). */
  producerConfig?: string;
  /** The wrapper's environment instead of this process's, e.g. the KAFKA_SSL and KAFKA_SASL_ variables it turns into a client config itself. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Sends `lines` to `topic` with Kafka's own console producer, exactly as a
 * person typing into it would: one message per line, no key, no headers.
 * One JVM for all lines (starting it is the slow part); the order of lines
 * is kept because the producer sends them one after the other.
 */
export async function sendWithConsoleProducer(
  topic: string,
  lines: readonly string[],
  brokers: string[] = kafkaBrokers(),
  options: ConsoleProducerOptions = {},
): Promise<{ output: string }> {
  for (const line of lines) {
    if (line.includes('\n')) throw new Error('the console producer sends one message per line; put each message on one line');
  }
  const args = ['--bootstrap-server', brokers.join(','), '--topic', topic];
  if (options.compression) args.push('--compression-codec', options.compression);
  if (options.maxRequestBytes) args.push('--producer-property', `max.request.size=${options.maxRequestBytes}`);
  if (options.producerConfig) args.push('--producer.config', options.producerConfig);
  const { code, output } = await runBin(PRODUCER, args, lines.map((l) => `${l}\n`).join(''), options.env);
  if (code !== 0) throw new Error(`kafka-console-producer exited with ${code}: ${output.trim()}`);
  return { output };
}

/**
 * Reads `topic` with Kafka's own console consumer (bin/kafka-console-consumer.sh)
 * in consumer group `group`, from the beginning, until `maxMessages` arrived or
 * nothing came for `timeoutMs`. Resolves with its exit code and everything it
 * printed (messages and errors alike), so a test can assert a refusal too.
 */
export async function receiveWithConsoleConsumer(
  topic: string,
  options: { group: string; maxMessages?: number; timeoutMs?: number; consumerConfig?: string },
  brokers: string[] = kafkaBrokers(),
): Promise<{ code: number | null; output: string }> {
  const args = ['--bootstrap-server', brokers.join(','), '--topic', topic, '--group', options.group, '--from-beginning'];
  args.push('--max-messages', String(options.maxMessages ?? 1), '--timeout-ms', String(options.timeoutMs ?? 15_000));
  if (options.consumerConfig) args.push('--consumer.config', options.consumerConfig);
  return runBin(CONSUMER, args, '');
}

/** Runs one of the bin/ wrappers with `input` on stdin; its exit code and its stdout and stderr, interleaved. */
async function runBin(script: string, args: string[], input: string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(script, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code)); // 'close': after the output streams ended, so none of it is missed
  });
  child.stdin.end(input);
  return { code: await exited, output };
}
