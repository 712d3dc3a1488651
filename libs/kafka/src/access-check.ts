import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';

/** One ALLOW rule: `principal` (`User:<name>`) may `operation` the topic or consumer group `name` (or every name starting with it). */
export interface AllowAcl {
  principal: string;
  resource: 'topic' | 'group';
  name: string;
  pattern: 'literal' | 'prefixed';
  operation: 'read' | 'write';
}

/** The kafkajs form of an ALLOW rule (an ACL binding, and the filter matching exactly it). */
function aclBinding(a: AllowAcl) {
  return {
    resourceType: a.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: a.name,
    resourcePatternType: a.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    principal: a.principal,
    host: '*',
    operation: a.operation === 'read' ? AclOperationTypes.READ : AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

async function withAclAdmin(conn: KafkaConnectionOptions, fn: (admin: ReturnType<Kafka['admin']>) => Promise<unknown>): Promise<void> {
  const admin = new Kafka({ ...toKafkaJsConfig(conn), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Makes the ACLs of `principals` (`User:<name>`) exactly `acls`: creates the
 * missing ones and deletes every other ACL of theirs (e.g. one an earlier,
 * broader table granted). `conn` must be a principal allowed to alter the cluster.
 */
export async function setAllowAcls(conn: KafkaConnectionOptions, principals: readonly string[], acls: readonly AllowAcl[]): Promise<void> {
  await withAclAdmin(conn, async (admin) => {
    await admin.createAcls({ acl: acls.map(aclBinding) });
    const wanted = new Set(acls.map((a) => JSON.stringify(aclBinding(a))));
    const stale = [];
    for (const principal of principals) {
      const { resources } = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      for (const { resourceType, resourceName, resourcePatternType, acls: found } of resources) {
        for (const acl of found) {
          const binding = {
            resourceType,
            resourceName,
            resourcePatternType,
            principal: acl.principal,
            host: acl.host,
            operation: acl.operation,
            permissionType: acl.permissionType,
          };
          if (!wanted.has(JSON.stringify(binding))) stale.push(binding);
        }
      }
    }
    if (stale.length > 0) await admin.deleteAcls({ filters: stale });
  });
}

/** Deletes exactly these ALLOW ACLs (an operator revoking a permission); `conn` must be a principal allowed to alter the cluster. */
export async function deleteAllowAcls(conn: KafkaConnectionOptions, acls: readonly AllowAcl[]): Promise<void> {
  await withAclAdmin(conn, (admin) => admin.deleteAcls({ filters: acls.map(aclBinding) }));
}

/** kafkajs's wrappers around the error the broker or the client raised (retries spent, bailed out). */
const WRAPPERS = new Set(['KafkaJSNonRetriableError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSError']);

/** The kafkajs protocol error type (`TOPIC_AUTHORIZATION_FAILED`) or error name (`KafkaJSSASLAuthenticationError`) under kafkajs's wrappers. */
function kindOf(error: unknown): string {
  type Raised = { type?: string; name?: string; cause?: Raised };
  let current: Raised | undefined = error as Raised | undefined;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current.type) return current.type;
    if (!current.name || !WRAPPERS.has(current.name) || !current.cause) return current.name ?? 'unknown error';
    current = current.cause;
  }
  return 'unknown error';
}

/**
 * A quiet kafkajs client that keeps the error responses of the broker it
 * logs (`Response GroupCoordinator(key: 10, version: 2): Not authorized to
 * access group: …`): kafkajs drops some of them on the way up (a refused
 * FindCoordinator surfaces as KafkaJSGroupCoordinatorNotFound).
 */
function recordingClient(conn: KafkaConnectionOptions): { kafka: Kafka; brokerErrors: string[] } {
  const brokerErrors: string[] = [];
  const kafka = new Kafka({
    ...toKafkaJsConfig(conn),
    retry: { retries: 0 },
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      const { message, error } = entry.log as { message: string; error?: unknown };
      if (message.startsWith('Response ') && typeof error === 'string') brokerErrors.push(`${message}: ${error}`);
    },
  });
  return { kafka, brokerErrors };
}

/**
 * What the broker answers when `conn` writes one message to `topic`:
 * `'allowed'`, or the kafkajs error type (`TOPIC_AUTHORIZATION_FAILED`,
 * `KafkaJSSASLAuthenticationError`, …). For checking a secured setup.
 */
export async function tryWrite(conn: KafkaConnectionOptions, topic: string, value: string): Promise<string> {
  const producer = recordingClient(conn).kafka.producer();
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ value }] });
    return 'allowed';
  } catch (error) {
    return kindOf(error);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * What the broker answers when `conn` joins consumer group `group` on
 * `topic`: `'allowed'` once joined, or the error type — followed by the
 * broker's first error response when kafkajs hid it: a group the principal
 * may not use gives `KafkaJSGroupCoordinatorNotFound: Response
 * GroupCoordinator(key: 10, …): Not authorized to access group: Group authorization failed`.
 */
export async function tryJoin(conn: KafkaConnectionOptions, group: string, topic: string): Promise<string> {
  const { kafka, brokerErrors } = recordingClient(conn);
  const consumer = kafka.consumer({ groupId: group, retry: { retries: 0 } });
  const answer = (error: unknown) => {
    const kind = kindOf(error);
    return /^[A-Z_]+$/.test(kind) || brokerErrors.length === 0 ? kind : `${kind}: ${brokerErrors[0]}`;
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    return await new Promise<string>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve('allowed'));
      consumer.on(consumer.events.CRASH, ({ payload }) => resolve(answer(payload.error)));
      consumer.run({ eachMessage: async () => undefined }).catch((error: unknown) => resolve(answer(error)));
    });
  } catch (error) {
    return answer(error);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Sum of the end offsets of `topic`'s partitions: how many messages it ever took. */
export async function topicEndOffset(conn: KafkaConnectionOptions, topic: string): Promise<number> {
  const admin = new Kafka({ ...toKafkaJsConfig(conn), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}
