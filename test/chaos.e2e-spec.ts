import { buildBundles, runChaos, RunResult } from '../bench/chaos/run';
import { runTables } from '../bench/chaos/report';
import { ChaosOptions } from '../bench/chaos/options';

jest.setTimeout(480_000);

/**
 * The short chaos run of `npm test`: two instances of every app on a private
 * broker and PostgreSQL server, an open-loop order load, three faults from a
 * fixed seed (an instance of each app SIGKILLed, the broker SIGKILLed, one
 * app's database connections terminated), then the independent checker. The
 * full matrix is `npm run chaos` (docs/reliability.md).
 */
describe('a short chaos run on a single broker', () => {
  let run: RunResult;
  const lines: string[] = [];

  beforeAll(async () => {
    const options: ChaosOptions = {
      runs: 1,
      seed: 1010,
      faults: ['kill-instances', 'kill-broker', 'terminate-backends'],
      cluster: false,
      instances: 2,
      rate: 5,
      duration: 30,
      orders: 600,
      hold: 5,
      settleTimeout: 150,
      reuseBundles: false,
      appEnv: {},
      resultsDir: false,
      name: 'e2e-chaos',
      brokerPort: 28592,
      log: (line) => lines.push(line),
    };
    const bundles = await buildBundles(options.name);
    run = await runChaos(options, options.seed, bundles);
    process.stdout.write(`${lines.join('\n')}\n${runTables(run)}\n`);
  });

  it('inflicts every scheduled fault and restarts what it stopped', () => {
    expect(run.error).toBeUndefined();
    expect(run.faults.map((f) => f.fault).sort()).toEqual(['kill-broker', 'kill-instances', 'terminate-backends']);
    expect(run.faults.filter((f) => f.error)).toEqual([]);
  });

  it('acknowledges orders under the faults', () => {
    expect(run.load.acknowledged).toBeGreaterThan(100);
  });

  it('reaches quiescence: nothing pending, outboxes empty, every instance ready', () => {
    expect(run.quiescence).toContain('0 PENDING');
    expect(run.quiescenceS).toBeDefined();
  });

  it('holds every invariant of the checker', () => {
    const violated = run.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.examples.join('; ')}`);
    expect(violated).toEqual([]);
    expect(run.invariants.length).toBeGreaterThanOrEqual(10);
  });
});
