/**
 * Jest globalSetup of the integration and e2e projects: brings up the local
 * infrastructure (a real Kafka broker, the contract topics, the databases)
 * with the same code as `npm run infra:up`. Idempotent and fast when it is
 * up already; it never stops the broker (no teardown), so other runs and
 * developers can keep using it.
 *
 * Jest's moduleNameMapper does not apply to globalSetup, so the tsconfig
 * path aliases (@lib/*) are registered here before loading the infra.
 */
import * as path from 'node:path';
import { register } from 'tsconfig-paths';
import { compilerOptions } from '../../../tsconfig.json';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
let registered = false;

export default async function globalSetup(): Promise<void> {
  if (!registered) {
    register({ baseUrl: REPO_ROOT, paths: compilerOptions.paths });
    registered = true;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after tsconfig-paths is registered, so the @lib paths inside resolve
  const { infraUp } = require('../../infra/src') as typeof import('../../infra/src');
  const started = Date.now();
  const lines: string[] = [];
  try {
    const result = await infraUp({ log: (line) => lines.push(line) });
    const did = [
      result.startedBroker ? 'started Kafka' : 'Kafka up',
      result.createdTopics.length ? `created ${result.createdTopics.length} topics` : '',
      result.createdDatabases.length ? `created databases ${result.createdDatabases.join(', ')}` : '',
    ].filter(Boolean);
    process.stdout.write(`\n[infra] ${did.join(', ')} (${result.brokers.join(',')}, ${Date.now() - started} ms)\n`);
  } catch (e) {
    process.stderr.write(`\n[infra] infra:up failed; what it did:\n  ${lines.join('\n  ')}\n`);
    throw e;
  }
}
