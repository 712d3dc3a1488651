import { kafkaBrokers } from '@lib/infra';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'bin', 'kafka-console-producer.sh');

/** How the console producer sends: `--compression-codec`, and its largest request (`max.request.size`, checked before compression). */
export interface ConsoleProducerOptions {
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  maxRequestBytes?: number;
  /** A client properties file, e.g. the SASL_SSL settings of a secured broker (`--producer.config`). */
  producerConfig?: string;
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
  const child = spawn(PRODUCER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  const code = await exited;
  if (code !== 0) throw new Error(`kafka-console-producer exited with ${code}: ${output.trim()}`);
  return { output };
}
