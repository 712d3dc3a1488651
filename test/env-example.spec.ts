import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleEnv } from '../apps/console/src/config/console.env';
import { NotificationEnv } from '../apps/notification/src/config/notification.env';
import { OrderEnv } from '../apps/order/src/config/order.env';
import { PaymentEnv } from '../apps/payment/src/config/payment.env';
import { DEFAULT_TOPIC_PARTITIONS } from '@lib/infra/config';
import { DEFAULT_KAFKA_VERSION } from '@lib/infra/versions';
import { DEFAULT_EVENT_RETENTION_MS } from '@lib/infra/broker-settings';

/** Variables only the infrastructure scripts read, with their defaults. */
const INFRA_DEFAULTS: Record<string, string> = {
  KAFKA_VERSION: DEFAULT_KAFKA_VERSION,
  KAFKA_PORT: '9092',
  KAFKA_CLUSTER_SIZE: '1',
  KAFKA_TOPIC_PARTITIONS: String(DEFAULT_TOPIC_PARTITIONS),
  INFRA_MODE: 'jar',
  CONSOLE_URL: 'http://localhost:3000', // npm run dlq
  KAFKA_DLQ_RETENTION_MS: '-1',
  KAFKA_EVENT_RETENTION_MS: DEFAULT_EVENT_RETENTION_MS,
};

function parseEnvFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function asEnvText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

describe('.env.example', () => {
  const documented = parseEnvFile(readFileSync(join(__dirname, '..', '.env.example'), 'utf8'));
  const appDefaults = Object.assign({}, ...[new OrderEnv(), new PaymentEnv(), new NotificationEnv(), new ConsoleEnv()].map((env) => ({ ...env }))) as Record<
    string,
    unknown
  >;

  it('lists every variable the apps read, with the default the code uses', () => {
    for (const [name, value] of Object.entries(appDefaults)) {
      expect({ name, value: documented[name] }).toEqual({ name, value: asEnvText(value) });
    }
  });

  it('lists nothing that no code reads', () => {
    const known = new Set([...Object.keys(appDefaults), ...Object.keys(INFRA_DEFAULTS)]);
    expect(Object.keys(documented).filter((name) => !known.has(name))).toEqual([]);
    for (const [name, value] of Object.entries(INFRA_DEFAULTS)) expect(documented[name]).toBe(value);
  });
});
