/**
 * npm run chaos — the whole system under a seeded schedule of faults while
 * orders flow, checked by an independent checker. See `--help`,
 * docs/reliability.md and bench/chaos/run.ts.
 */

import { parseChaosArgs, USAGE } from './options';
import { writeResults, runTables } from './report';
import { buildBundles, RunResult } from './run';

async function main(): Promise<number> {
  const options = parseChaosArgs(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { log } = options;
  const started = new Date();
  log(`chaos: ${options.runs} run(s) from seed ${options.seed}; faults ${options.faults.join(', ')}`);
  const bundles = await buildBundles('chaos', options.reuseBundles);
  const runs: RunResult[] = [];
  for (let r = 0; r < options.runs; r++) {
    const run = await runChaos(options, options.seed + r, bundles);
    runs.push(run);
    log(runTables(run));
    writeResults(options, runs, started);
  }
  const files = writeResults(options, runs, started);
  const passed = runs.filter((r) => r.passed).length;
  log(`chaos: ${passed} of ${runs.length} runs passed every invariant${files.length ? `; results in ${files.join(', ')}` : ''}`);
  return passed === runs.length ? 0 : 1;
}

import { runChaos } from './run';

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`chaos: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
