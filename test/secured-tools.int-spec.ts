import { deadLetterTopic, Topics } from '@lib/events';
import { REPO_ROOT } from '@lib/infra';
import { topicEndOffset } from '@lib/kafka';
import { KafkaUnderTest, privateSecureBroker, sendWithConsoleProducer } from '@lib/testing';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(180_000);

/**
 * Issue 13, "every tool reads .env and uses the same Kafka settings as the
 * apps": `npm run dlq` and `npm run infra:status` (their scripts, run from a
 * folder whose `.env` is the only source of Kafka settings) and the bin/
 * console producer (KAFKA_SSL and KAFKA_SASL_ variables only, no config file)
 * against a private secured broker (SASL_SSL, SCRAM-SHA-512, per-app ACLs)
 * on port 28282 (controller 28283; 28252 is the order probes suite's).
 */
describe('the tools on the secured broker, with the Kafka settings of .env alone', () => {
  let kafka: KafkaUnderTest;
  let folder: string;

  beforeAll(async () => {
    kafka = await privateSecureBroker({ port: 28282 }).start('int-secured-tools');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'secured-tools-'));
  }, 180_000);

  afterAll(async () => {
    await kafka?.stop();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  }, 60_000);

  /** This process's environment without any Kafka variable: what the tools get must come from .env (or `extra`). */
  const environment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KAFKA_'))),
    ...extra,
  });

  const writeDotEnv = (variables: Record<string, string>) =>
    fs.writeFileSync(
      path.join(folder, '.env'),
      Object.entries(variables)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );

  /** Runs `scripts/<script>` as its npm script does (ts-node), in the folder holding the .env; exit code and stdout + stderr. */
  function runScript(script: string, args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
    const tsconfig = path.join(REPO_ROOT, 'tsconfig.json');
    const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'ts-node'), ['--project', tsconfig, path.join(REPO_ROOT, 'scripts', script), ...args], {
      cwd: folder,
      env: environment({ TS_NODE_PROJECT: tsconfig }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (d) => ((stdout += d), (output += d)));
    child.stderr.on('data', (d) => (output += d));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, output }));
    });
  }

  /** A dead letter's value that is not JSON, so that `dlq --json` prints it as it is. */
  const MARKER = 'dead letter written by bin/ as payment';
  const adminEnv = () => kafka.secure!.appEnv('admin');
  const endOffset = (topic: string) => topicEndOffset(kafka.secure!.connection('admin', 'int-secured-tools'), topic);

  it("bin/kafka-console-producer.sh writes with the payment principal's KAFKA_SSL and KAFKA_SASL_ variables, and the broker holds it to that principal's ACLs", async () => {
    const env = environment(kafka.secure!.appEnv('payment'));
    const before = await endOffset(deadLetterTopic('payment'));
    const sent = await sendWithConsoleProducer(deadLetterTopic('payment'), [MARKER], kafka.brokers, { env });
    expect(sent.output).not.toMatch(/Exception/);
    expect(await endOffset(deadLetterTopic('payment'))).toBe(before + 1);
    // The principal is payment's, not a super user's: order.confirmed is not payment's to write.
    const refused = await sendWithConsoleProducer(Topics.OrderConfirmed, ['{"forged":true}'], kafka.brokers, { env }).catch((e: Error) => ({
      output: e.message,
    }));
    expect(refused.output).toMatch(/TopicAuthorizationException: Not authorized to access topics: \[order\.confirmed\]/);
  });

  it('npm run dlq -- list payment reads payment.dlq as the admin principal of .env', async () => {
    writeDotEnv(adminEnv());
    const listed = await runScript('dlq.ts', ['list', 'payment', '--json']);
    expect({ code: listed.code, output: listed.code === 0 ? '' : listed.output }).toEqual({ code: 0, output: '' });
    // The record as `--json` prints it; searched rather than parsed, as kafkajs's warnings would share stdout.
    expect(listed.stdout).toContain(`"value": "${MARKER}"`);
  });

  it('npm run infra:status reaches the secured broker with the settings of .env, and not without the right password', async () => {
    writeDotEnv(adminEnv());
    const status = await runScript('infra.ts', ['status']);
    expect(status.output).toContain(`kafka: ${kafka.brokers.join(',')} ready (1 broker registered)`);
    expect(status.output).toContain('kafka: all contract topics present');

    writeDotEnv({ ...adminEnv(), KAFKA_SASL_PASSWORD: 'not-the-password' });
    const refused = await runScript('infra.ts', ['status']);
    expect(refused.output).toContain(`kafka: ${kafka.brokers.join(',')} NOT ready`);
  });

  it("refuses half-set settings in .env with the apps' own sentence, naming the variable", async () => {
    const { KAFKA_SASL_PASSWORD: _password, ...withoutPassword } = adminEnv();
    writeDotEnv(withoutPassword);
    for (const [script, args] of [
      ['dlq.ts', ['list', 'payment']],
      ['infra.ts', ['status']],
    ] as const) {
      const run = await runScript(script, [...args]);
      expect({ script, code: run.code }).toEqual({ script, code: 1 });
      expect(run.output).toContain('Invalid configuration: KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is scram-sha-512 (not set)');
    }
  });
});
