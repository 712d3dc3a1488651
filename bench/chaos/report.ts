import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@lib/infra';
import { ChaosOptions } from './options';
import { RunResult } from './run';
import { formatEnvAssignments } from '../env-assignments';

const cell = (v: number | string | undefined) => (v === undefined ? '—' : String(v));

/** Markdown tables of one run: per invariant, per fault. */
export function runTables(run: RunResult): string {
  const lines = [
    `### Run seed ${run.seed}: ${run.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `${run.cluster ? 'Three-node cluster' : 'Single broker'}, ${run.instances} instances of each app, ${run.rate} orders/s for ${run.load.seconds} s: ` +
      `${run.load.sent} orders sent, ${run.load.acknowledged} acknowledged, ${run.load.ordersFailed} failed both attempts; ` +
      `${run.load.attempts} POSTs, ${run.load.errors5xx} answered 5xx, ${run.load.noAnswer} not answered, ${run.load.errors4xx} answered 4xx. ` +
      `Quiescent ${run.quiescenceS === undefined ? 'NOT reached' : `${run.quiescenceS} s`} after the last fault.`,
    '',
    `Schedule: ${run.schedule.join(' · ')}`,
    '',
    '| invariant | expected | seen | lost | duplicated | wrong | ok |',
    '|---|---:|---:|---:|---:|---:|:-:|',
    ...run.invariants.map((i) => `| ${i.name} | ${i.expected} | ${i.seen} | ${i.lost} | ${i.duplicated} | ${i.wrong} | ${i.ok ? 'yes' : '**NO**'} |`),
    '',
  ];
  const examples = run.invariants.filter((i) => !i.ok && i.examples.length > 0);
  if (examples.length > 0) lines.push(...examples.map((i) => `- ${i.name}: ${i.examples.join('; ')}`), '');
  if (run.faults.length > 0)
    lines.push(
      '| fault | target | held s | recovery s | POSTs | 5xx | no answer | orders failed | longest settle s |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...run.faults.map(
        (f) =>
          `| ${f.fault}${f.error ? ` (error: ${f.error})` : ''} | ${f.target} | ${((f.healedAt - f.injectedAt) / 1000).toFixed(1)} | ${f.recoveryS === undefined ? '**not recovered**' : f.recoveryS} | ${f.attempts} | ${f.errors5xx} | ${f.noAnswer} | ${f.ordersFailed} | ${cell(f.maxSettleS)} |`,
      ),
      '',
    );
  if (run.error) lines.push('```', run.error.slice(0, 2000), '```', '');
  return lines.join('\n');
}

/** Writes bench/results/chaos-<stamp>.json and .md; returns their paths. */
export function writeResults(options: ChaosOptions, runs: RunResult[], started: Date): string[] {
  if (options.resultsDir === false) return [];
  const dir = join(REPO_ROOT, options.resultsDir);
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const base = join(dir, `chaos-${options.cluster ? 'cluster-' : ''}${stamp}`);
  const passed = runs.filter((r) => r.passed).length;
  const { log: _log, ...settings } = options;
  void _log;
  writeFileSync(`${base}.json`, JSON.stringify({ started: started.toISOString(), settings, passed, runs }, null, 2) + '\n');
  const md = [
    `# Chaos ${options.cluster ? 'cluster ' : ''}run of ${started.toISOString()}`,
    '',
    `\`npm run chaos -- --runs ${options.runs} --seed ${options.seed} --faults ${options.faults.join(',')}${options.cluster ? ' --cluster' : ''} --instances ${options.instances} --rate ${options.rate} --duration ${options.duration}${options.orders ? ` --orders ${options.orders}` : ''} --hold ${options.hold}${Object.keys(options.appEnv).length > 0 ? ` --app-env ${formatEnvAssignments(options.appEnv)}` : ''}\``,
    '',
    `**${passed} of ${runs.length} runs passed every invariant.** Seeds: ${runs.map((r) => r.seed).join(', ')}.`,
    '',
    ...runs.map(runTables),
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  return [`${base}.json`, `${base}.md`];
}
