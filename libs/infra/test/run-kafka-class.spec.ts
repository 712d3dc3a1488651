import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../src/paths';
import { DEFAULT_KAFKA_VERSION } from '../src/versions';

/**
 * The bin/ wrappers' launcher, run in a copy of the repository layout with a
 * stand-in `java` that prints what it was given: which version's jars, which
 * class and which options reach the JVM.
 */
describe('run-kafka-class.sh (the bin/kafka-*.sh launcher)', () => {
  let root: string;

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-kafka-class-'));
    for (const dir of ['libs/infra/kafka', 'libs/infra/src', 'bin', 'fakebin']) fs.mkdirSync(path.join(root, dir), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, 'libs/infra/kafka/run-kafka-class.sh'), path.join(root, 'libs/infra/kafka/run-kafka-class.sh'));
    fs.copyFileSync(path.join(REPO_ROOT, 'libs/infra/src/versions.ts'), path.join(root, 'libs/infra/src/versions.ts'));
    for (const wrapper of ['kafka-console-producer.sh', 'kafka-console-consumer.sh'])
      fs.copyFileSync(path.join(REPO_ROOT, 'bin', wrapper), path.join(root, 'bin', wrapper));
    for (const version of [DEFAULT_KAFKA_VERSION, '3.9.1']) {
      fs.mkdirSync(path.join(root, '.local/kafka', version, 'libs'), { recursive: true });
      fs.writeFileSync(path.join(root, '.local/kafka', version, 'libs/.complete'), '');
    }
    fs.writeFileSync(path.join(root, 'fakebin/java'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', { mode: 0o755 });
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** The arguments the stand-in java received, after the JVM options. */
  const run = (wrapper: string, args: string[], env: Record<string, string> = {}) => {
    const out = execFileSync(path.join(root, 'bin', wrapper), args, {
      env: { PATH: `${path.join(root, 'fakebin')}:${process.env.PATH}`, ...env },
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const cp = out.indexOf('-cp');
    return { classpath: out[cp + 1], main: out[cp + 2], args: out.slice(cp + 3) };
  };

  it('runs the default version with the 4.2+ option names, whichever spelling was typed', () => {
    const r = run('kafka-console-producer.sh', [
      '--bootstrap-server',
      'localhost:9092',
      '--topic',
      't',
      '--property',
      'parse.key=true',
      '--producer-property=acks=all',
    ]);
    expect(r.classpath).toBe(path.join(root, '.local/kafka', DEFAULT_KAFKA_VERSION, 'libs/*'));
    expect(r.main).toBe('org.apache.kafka.tools.ConsoleProducer');
    expect(r.args).toEqual(['--bootstrap-server', 'localhost:9092', '--topic', 't', '--reader-property', 'parse.key=true', '--command-property=acks=all']);
    expect(run('kafka-console-consumer.sh', ['--property', 'print.key=true']).args).toEqual(['--formatter-property', 'print.key=true']);
  });

  it('runs 3.9.1 when KAFKA_VERSION says so, with its console producer class and the old option names', () => {
    const r = run('kafka-console-producer.sh', ['--reader-property', 'parse.key=true', '--property', 'key.separator=|'], { KAFKA_VERSION: '3.9.1' });
    expect(r.classpath).toBe(path.join(root, '.local/kafka/3.9.1/libs/*'));
    expect(r.main).toBe('kafka.tools.ConsoleProducer');
    expect(r.args).toEqual(['--property', 'parse.key=true', '--property', 'key.separator=|']);
  });

  it('reads KAFKA_VERSION from the repository .env when the environment has none', () => {
    fs.writeFileSync(path.join(root, '.env'), 'KAFKA_BROKERS=localhost:9092\nKAFKA_VERSION=3.9.1\n');
    try {
      expect(run('kafka-console-consumer.sh', ['--formatter-property', 'print.key=true']).classpath).toBe(path.join(root, '.local/kafka/3.9.1/libs/*'));
    } finally {
      fs.rmSync(path.join(root, '.env'));
    }
  });

  it('passes a config file the user gave as it is, with KAFKA_SASL_ set: no generated one next to it', () => {
    // This copy of the repository has no scripts/kafka-client-config.ts: asking it for a config would fail the run.
    const env = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
    expect(run('kafka-console-producer.sh', ['--topic', 't', '--producer.config', 'mine.properties'], env).args).toEqual([
      '--topic',
      't',
      '--command-config',
      'mine.properties',
    ]);
    expect(run('kafka-console-consumer.sh', ['--topic', 't', '--command-config=mine.properties'], env).args).toEqual([
      '--topic',
      't',
      '--command-config=mine.properties',
    ]);
  });
});
