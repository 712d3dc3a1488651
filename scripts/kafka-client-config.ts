/**
 * Used by the bin/ wrappers (libs/infra/kafka/run-kafka-class.sh), not by
 * people: turns the Kafka settings of the environment and of the repository's
 * `.env` (variables already set win) into a Java client config file, with the
 * apps' own validation (libs/infra's toolKafkaConnection), and prints its
 * path; prints nothing for a plain broker. The file lives in the git-ignored
 * `.local/kafka/client-config/`, mode 600. Exit 1 with one line per bad
 * variable when the settings are half-set.
 */
// The files, not the @lib/infra index: this runs before every secured bin/ command, and the index loads far more.
import { javaClientProperties, writeClientPropertiesFile } from '@lib/infra/client-properties';
import { loadDotEnv, toolKafkaConnection } from '@lib/infra/config';
import { LOCAL_DIR, REPO_ROOT } from '@lib/infra/paths';
import * as path from 'node:path';

try {
  loadDotEnv(path.join(REPO_ROOT, '.env'));
  const props = javaClientProperties(toolKafkaConnection('bin'));
  if (Object.keys(props).length > 0) process.stdout.write(`${writeClientPropertiesFile(props, path.join(LOCAL_DIR, 'kafka', 'client-config'))}\n`);
} catch (error) {
  process.stderr.write(`kafka: ${(error as Error).message}\n`);
  process.exit(1);
}
