/**
 * The one pinned Apache Kafka version, shared by the jar path (Maven Central),
 * the bin/ wrappers (they read this line with sed: keep it on one line) and
 * docker-compose.kafka.yml (checked by compose.spec.ts).
 */
export const KAFKA_VERSION = '3.9.1';
/** Scala build of the broker artifact (`kafka_<scala>`). */
export const KAFKA_SCALA_VERSION = '2.13';
/** maven-dependency-plugin version, named explicitly: Maven 3.8's default one is very old. */
export const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
