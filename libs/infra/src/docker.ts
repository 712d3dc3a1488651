import { spawnSync } from 'node:child_process';
import { COMPOSE_FILE, REPO_ROOT } from './paths';
import { InfraError, Logger, commandExists } from './util';

/** `INFRA_MODE=docker` asks for docker-compose.kafka.yml instead of the jar path. */
export function dockerRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.INFRA_MODE ?? '').trim().toLowerCase() === 'docker';
}

/** True when a Docker engine answers (`docker info` succeeds) and the compose plugin exists, not merely when the CLI is installed. */
export function dockerUsable(): boolean {
  if (!commandExists('docker')) return false;
  const ok = (args: string[]) => spawnSync('docker', args, { stdio: 'ignore', timeout: 15_000 }).status === 0;
  return ok(['info']) && ok(['compose', 'version']);
}

/** `docker compose -f docker-compose.kafka.yml <args>`. */
export function compose(args: string[], log: Logger): void {
  log(`docker: docker compose -f docker-compose.kafka.yml ${args.join(' ')}`);
  const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new InfraError(`docker compose ${args[0]} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
}
