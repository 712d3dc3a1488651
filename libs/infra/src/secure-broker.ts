import { ALL_TOPICS, AppName, Apps, deadLetterTopic } from '@lib/events/topics';
import { EVENT_SUBSCRIPTIONS, publishedBy } from '@lib/events/event-roles';
import { ensureTopics, waitForKafka } from '@lib/kafka/admin';
import type { KafkaConnectionOptions } from '@lib/kafka/kafka-config';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setAllowAcls } from '@lib/kafka/access-check';
import { javaClientProperties, propertiesText } from './client-properties';
import { brokerPid, formattedClusterId, launchNode, randomClusterId, singleNode, stopBroker, waitForPort } from './broker';
import { KAFKA_DIR, brokerPaths } from './paths';
import { kafkaVersion } from './versions';
import { InfraError, Logger, consoleLogger, withFileLock } from './util';

/*
 * A secured local broker from the same jars (issue 13): a SASL_SSL client
 * listener with SCRAM-SHA-512 users created at storage format time, TLS with
 * a throw-away CA generated here (openssl and the JDK's keytool), and the
 * StandardAuthorizer with one principal per app allowed exactly what the
 * contract needs, plus an admin principal (super user) for infra and tools.
 * The KRaft controller listener is SASL_PLAINTEXT/PLAIN on 127.0.0.1 for the
 * admin principal only (SCRAM credentials live in the metadata the
 * controller serves, so it cannot use them itself).
 */

/** Client port of the secured broker of `infra:up -- --secure` and of the compose profile `secure` (KAFKA_SECURE_PORT); its controller listens on the next port. */
export const DEFAULT_SECURE_PORT = 9192;

/** The principals of the secured broker. */
export const SECURE_PRINCIPALS = ['admin', 'order', 'payment', 'notification'] as const;
export type SecurePrincipal = (typeof SECURE_PRINCIPALS)[number];

type Pattern = 'literal' | 'prefixed';
/** One ACL: principal may do `operation` on `resource` (a topic or consumer group). */
export interface AppAcl {
  principal: Exclude<SecurePrincipal, 'admin'>;
  resource: 'topic' | 'group';
  name: string;
  pattern: Pattern;
  operation: 'read' | 'write';
}

/**
 * What `app` may do, exactly what the contract needs (libs/events'
 * EVENT_PUBLISHERS and EVENT_SUBSCRIPTIONS, the tables docs/asyncapi.yaml is
 * generated from): write each topic it publishes and its own dead-letter
 * topic, read each topic it consumes, with its own consumer group (named
 * after the app). All literal names: order may write `payment.void-requested`
 * (it asks payment to void) but no other `payment.*`, and no app may write a
 * topic that does not exist yet. READ and WRITE imply DESCRIBE (and WRITE the
 * idempotent producer's id); nothing else is allowed (no create, delete,
 * alter, no other group).
 */
export function appAcls(app: AppName): AppAcl[] {
  const acl = (resource: AppAcl['resource'], operation: AppAcl['operation'], name: string): AppAcl => ({
    principal: app,
    resource,
    name,
    pattern: 'literal',
    operation,
  });
  return [
    ...publishedBy(app).map((topic) => acl('topic', 'write', topic)),
    acl('topic', 'write', deadLetterTopic(app)),
    ...EVENT_SUBSCRIPTIONS[app].map((topic) => acl('topic', 'read', topic)),
    acl('group', 'read', app),
  ];
}

/** The ACLs of every app (see {@link appAcls}). */
export const APP_ACLS: readonly AppAcl[] = Apps.flatMap(appAcls);

/** The generated material of one secured broker, in `.local/kafka/secure/<name>/` (git-ignored). */
export interface SecureMaterial {
  dir: string;
  /** PEM of the throw-away CA that signed the broker certificate: what clients trust (KAFKA_SSL_CA_FILE). */
  caFile: string;
  keystore: string;
  truststore: string;
  /** Password of the PKCS12 stores. */
  storePassword: string;
  /** SCRAM-SHA-512 password of each principal. */
  passwords: Record<SecurePrincipal, string>;
}

export function secureDir(name: string): string {
  return path.join(KAFKA_DIR, 'secure', name);
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new InfraError(
      `${command} ${args[0]} failed (exit ${result.status}): ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').slice(-2).join(' | ')}`,
    );
  }
}

/**
 * Creates the CA, the broker's key store (certificate for `localhost` and
 * 127.0.0.1, signed by the CA), a trust store with the CA, and random
 * passwords for the stores and the principals — once; later calls read them.
 */
export function ensureSecureMaterial(name: string, log: Logger = consoleLogger): SecureMaterial {
  const dir = secureDir(name);
  const credentialsFile = path.join(dir, 'credentials.json');
  const material = (stored: { storePassword: string; passwords: Record<SecurePrincipal, string> }): SecureMaterial => ({
    dir,
    caFile: path.join(dir, 'ca.pem'),
    keystore: path.join(dir, 'broker.p12'),
    truststore: path.join(dir, 'truststore.p12'),
    ...stored,
  });
  if (fs.existsSync(credentialsFile))
    return material(JSON.parse(fs.readFileSync(credentialsFile, 'utf8')) as { storePassword: string; passwords: Record<SecurePrincipal, string> });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = () => randomBytes(18).toString('base64url');
  const stored = { storePassword: secret(), passwords: Object.fromEntries(SECURE_PRINCIPALS.map((p) => [p, secret()])) as Record<SecurePrincipal, string> };
  log(`kafka: generating a throw-away CA and broker certificate in ${path.relative(process.cwd(), dir) || dir}`);
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '825',
      '-subj',
      '/CN=kafka-order-saga local CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost'], dir);
  fs.writeFileSync(path.join(dir, 'broker.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'broker.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'broker.pem',
      '-days',
      '825',
      '-extfile',
      'broker.ext',
    ],
    dir,
  );
  run(
    'openssl',
    [
      'pkcs12',
      '-export',
      '-in',
      'broker.pem',
      '-inkey',
      'broker.key',
      '-certfile',
      'ca.pem',
      '-name',
      'broker',
      '-out',
      'broker.p12',
      '-passout',
      `pass:${stored.storePassword}`,
    ],
    dir,
  );
  run(
    'keytool',
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', '-keystore', 'truststore.p12', '-storetype', 'PKCS12', '-storepass', stored.storePassword],
    dir,
  );
  fs.writeFileSync(credentialsFile, JSON.stringify(stored, null, 2), { mode: 0o600 });
  return material(stored);
}

/** server.properties entries of the secured node (they win over the plain node's). */
export function secureBrokerProperties(port: number, controllerPort: number, m: SecureMaterial): Record<string, string> {
  const admin = m.passwords.admin;
  return {
    listeners: `SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `SASL_SSL://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin}";`,
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${admin}" user_admin="${admin}";`,
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': m.keystore,
    'ssl.keystore.password': m.storePassword,
    'ssl.key.password': m.storePassword,
    'ssl.truststore.type': 'PKCS12',
    'ssl.truststore.location': m.truststore,
    'ssl.truststore.password': m.storePassword,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin',
    'allow.everyone.if.no.acl.found': 'false',
  };
}

/** `StorageTool format` arguments creating every principal's SCRAM-SHA-512 credential. */
export function scramFormatArgs(m: SecureMaterial): string[] {
  return SECURE_PRINCIPALS.flatMap((p) => ['--add-scram', `SCRAM-SHA-512=[name=${p},password=${m.passwords[p]}]`]);
}

/** How `principal` connects to the secured broker: SASL_SSL with SCRAM-SHA-512, trusting the local CA. */
export function secureConnection(brokers: string[], m: SecureMaterial, principal: SecurePrincipal, clientId = `${principal}-client`): KafkaConnectionOptions {
  return { brokers, clientId, ssl: { caFile: m.caFile }, sasl: { mechanism: 'scram-sha-512', username: principal, password: m.passwords[principal] } };
}

/** The Kafka variables of a principal on the secured broker (what `.local/kafka/secure/<name>/<principal>.env` holds): an app's, or the tools' (admin). */
export function secureAppEnv(brokers: string[], m: SecureMaterial, principal: SecurePrincipal): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: m.caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD: m.passwords[principal],
  };
}

/**
 * A Java client config for `principal` (`--producer.config`, `--consumer.config`,
 * `--command-config` of Kafka's tools and bin/), written next to the material: `<principal>.properties`.
 */
export function clientPropertiesFile(m: SecureMaterial, principal: SecurePrincipal): string {
  const file = path.join(m.dir, `${principal}.properties`);
  fs.writeFileSync(file, propertiesText(javaClientProperties(secureConnection([], m, principal))), { mode: 0o600 });
  return file;
}

/**
 * Makes the app principals' ACLs exactly {@link APP_ACLS}: creates the missing
 * ones (idempotent) and deletes any other ACL of an app principal, such as the
 * broader prefixed grants of an earlier version of this table.
 */
export async function applyAppAcls(admin: KafkaConnectionOptions): Promise<void> {
  await setAllowAcls(
    admin,
    Apps.map((app) => `User:${app}`),
    APP_ACLS.map((a) => ({ ...a, principal: `User:${a.principal}` })),
  );
}

export interface SecureBroker {
  name: string;
  brokers: string[];
  material: SecureMaterial;
  /** The connection of one principal. */
  connection(principal: SecurePrincipal, clientId?: string): KafkaConnectionOptions;
  /** The app variables of one principal. */
  appEnv(principal: SecurePrincipal): Record<string, string>;
  alreadyRunning: boolean;
  stop(): Promise<void>;
}

/**
 * Starts (or checks) the secured single-node broker `name` on `port`
 * (controller `port + 1`): generates its material when missing, formats its
 * storage with the SCRAM users, waits for it as the admin principal, and
 * creates the contract topics, the ACLs, and one env file and Java client
 * config per principal (the apps', and admin's for the tools).
 */
export async function startSecureBroker(opts: {
  name?: string;
  port: number;
  partitions?: number;
  fresh?: boolean;
  version?: string;
  log?: Logger;
  timeoutMs?: number;
}): Promise<SecureBroker> {
  const name = opts.name ?? 'secure';
  const log = opts.log ?? consoleLogger;
  const version = opts.version ?? kafkaVersion();
  const partitions = opts.partitions ?? 3;
  const controllerPort = opts.port + 1;
  if (opts.fresh) fs.rmSync(secureDir(name), { recursive: true, force: true });
  const material = ensureSecureMaterial(name, log);
  const brokers = [`localhost:${opts.port}`];
  const connection = (principal: SecurePrincipal, clientId?: string) => secureConnection(brokers, material, principal, clientId);
  const p = brokerPaths(name, version);
  const node = {
    ...singleNode(name, opts.port, controllerPort, partitions, version),
    extraProperties: secureBrokerProperties(opts.port, controllerPort, material),
    extraFormatArgs: scramFormatArgs(material),
  };
  const alreadyRunning = await withFileLock(p.lockFile, async () => {
    if (brokerPid(name) !== undefined) return true;
    log(`kafka: starting the secured broker "${name}" (Kafka ${version}, SASL_SSL + SCRAM-SHA-512 + ACLs) on ${brokers[0]}`);
    const pid = await launchNode(node, { clusterId: (!opts.fresh && formattedClusterId(p.dataDir)) || randomClusterId(), fresh: opts.fresh, log });
    await waitForPort(node, pid, Date.now() + (opts.timeoutMs ?? 90_000));
    return false;
  });
  const admin = connection('admin', `infra-${name}`);
  try {
    await waitForKafka(admin, { timeoutMs: opts.timeoutMs ?? 90_000 });
  } catch (e) {
    throw new InfraError(`${(e as Error).message}; see ${p.logFile}`);
  }
  await ensureTopics(admin, ALL_TOPICS, { partitions, replicationFactor: 1 });
  await applyAppAcls(admin);
  for (const principal of SECURE_PRINCIPALS) {
    const lines = Object.entries(secureAppEnv(brokers, material, principal)).map(([k, v]) => `${k}=${v}`);
    const who = principal === 'admin' ? 'The admin principal (npm run dlq, infra:status, bin/ tools)' : `The ${principal} app`;
    fs.writeFileSync(
      path.join(material.dir, `${principal}.env`),
      `# ${who} on the secured broker "${name}" (generated by infra:up --secure).\n${lines.join('\n')}\n`,
      { mode: 0o600 },
    );
  }
  for (const principal of SECURE_PRINCIPALS) clientPropertiesFile(material, principal);
  return {
    name,
    brokers,
    material,
    connection,
    appEnv: (principal) => secureAppEnv(brokers, material, principal),
    alreadyRunning,
    stop: async () => void (await stopBroker(name, { log: () => undefined })),
  };
}
