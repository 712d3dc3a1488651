import { createHash, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KafkaClientSettings } from '@lib/kafka/kafka-config';

/** `sasl.mechanism` and JAAS login module of each mechanism the apps accept. */
const SASL_MECHANISMS = {
  plain: { name: 'PLAIN', loginModule: 'org.apache.kafka.common.security.plain.PlainLoginModule' },
  'scram-sha-256': { name: 'SCRAM-SHA-256', loginModule: 'org.apache.kafka.common.security.scram.ScramLoginModule' },
  'scram-sha-512': { name: 'SCRAM-SHA-512', loginModule: 'org.apache.kafka.common.security.scram.ScramLoginModule' },
} as const;

/** A JAAS option value, quoted (the JAAS parser reads backslash escapes inside quotes). */
const jaasQuoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A value as a line of a Java `.properties` file: the backslash is the format's escape character, and a value is one line. */
const propertyValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

/**
 * The Java client settings (Kafka's console tools, `--command-config` and
 * friends) equivalent to a kafkajs connection: `security.protocol` SSL,
 * SASL_PLAINTEXT or SASL_SSL; the SASL mechanism and its JAAS login; the CA
 * file as a PEM trust store; a client certificate and key (mTLS) as a PEM key
 * store, the key converted to PKCS#8 as Java requires. Empty for a plain
 * connection. Values are as they are meant, not escaped: see {@link propertiesText}.
 */
export function javaClientProperties(settings: Pick<KafkaClientSettings, 'ssl' | 'sasl'>): Record<string, string> {
  const { ssl, sasl } = settings;
  if (!ssl && !sasl) return {};
  const props: Record<string, string> = { 'security.protocol': sasl ? (ssl ? 'SASL_SSL' : 'SASL_PLAINTEXT') : 'SSL' };
  if (sasl) {
    const { name, loginModule } = SASL_MECHANISMS[sasl.mechanism];
    props['sasl.mechanism'] = name;
    props['sasl.jaas.config'] = `${loginModule} required username=${jaasQuoted(sasl.username)} password=${jaasQuoted(sasl.password)};`;
  }
  if (typeof ssl === 'object') {
    if (ssl.caFile) {
      props['ssl.truststore.type'] = 'PEM';
      props['ssl.truststore.location'] = path.resolve(ssl.caFile);
    }
    if (ssl.certFile && ssl.keyFile) {
      props['ssl.keystore.type'] = 'PEM';
      props['ssl.keystore.certificate.chain'] = fs.readFileSync(ssl.certFile, 'utf8').trim();
      props['ssl.keystore.key'] = String(createPrivateKey(fs.readFileSync(ssl.keyFile, 'utf8')).export({ type: 'pkcs8', format: 'pem' })).trim();
    }
  }
  return props;
}

/** The text of a `.properties` file holding `props`, one `key=value` line each. */
export function propertiesText(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([key, value]) => `${key}=${propertyValue(value)}\n`)
    .join('');
}

/**
 * Writes `props` to a file of `dir` named after its content (so concurrent
 * tools with different settings do not overwrite each other's), readable by
 * its owner only (it holds a password), and returns its path.
 */
export function writeClientPropertiesFile(props: Record<string, string>, dir: string): string {
  const text = propertiesText(props);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `client-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.properties`);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text, { mode: 0o600 });
  fs.renameSync(temporary, file);
  return file;
}
