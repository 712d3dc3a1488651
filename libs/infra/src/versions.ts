/**
 * The pinned Apache Kafka versions, in one place: the jar path (Maven
 * Central), the bin/ wrappers (they read DEFAULT_KAFKA_VERSION with sed: keep
 * it on one line) and docker-compose.kafka.yml (checked by compose.spec.ts).
 * See ADR 0009 for why 4.4.0 is the default and 3.9.1 stays selectable.
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';
/** The last 3.x release we test, selectable with `KAFKA_VERSION=3.9.1`. */
export const KAFKA_3_VERSION = '3.9.1';
/** Scala build of the broker artifact (`kafka_<scala>`). */
export const KAFKA_SCALA_VERSION = '2.13';
/**
 * log4j2's SLF4J 1.x binding added to Kafka 4.x (the 4.4.0 artifacts bring
 * log4j-core 2.25.5 and slf4j-api 1.7.36 but no binding; without one the
 * broker logs nothing). Same version as the log4j-core Kafka 4.4.0 depends on.
 */
export const LOG4J2_SLF4J_BINDING = 'org.apache.logging.log4j:log4j-slf4j-impl:2.25.5';
/** maven-dependency-plugin version, named explicitly: Maven 3.8's default one is very old. */
export const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/**
 * The Kafka version to use: `KAFKA_VERSION` (e.g. `KAFKA_VERSION=3.9.1 npm
 * run infra:up`), else DEFAULT_KAFKA_VERSION. Any release on Maven Central
 * from 3.7 on is accepted; 4.4.0 and 3.9.1 are the ones the suite runs on.
 */
export function kafkaVersion(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.KAFKA_VERSION?.trim();
  if (!raw) return DEFAULT_KAFKA_VERSION;
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 7)) {
    throw new Error(`KAFKA_VERSION must be an Apache Kafka release 3.7.0 or later (e.g. ${DEFAULT_KAFKA_VERSION} or ${KAFKA_3_VERSION}), got "${raw}"`);
  }
  return raw;
}

/** Major and minor of a `x.y.z` version. */
function majorMinor(version: string): [number, number] {
  const [major, minor] = version.split('.').map(Number);
  return [major ?? 0, minor ?? 0];
}

/** Kafka 4.x and later: log4j2 instead of reload4j, tools moved to org.apache.kafka.tools. */
export function isKafka4(version: string): boolean {
  return majorMinor(version)[0] >= 4;
}
