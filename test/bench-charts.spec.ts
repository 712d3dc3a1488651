import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, latencyGroups, renderCharts, throughputBars, timeSeries } from '../bench/charts';

const results = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json'));

describe('bench charts (npm run bench:charts)', () => {
  it.each(results)('the committed SVG charts of %s are the ones the script draws from it', (file) => {
    const charts = renderCharts(join(RESULTS_DIR, file));
    // The saga and outbox results hold latency percentiles and rates; other results (chaos) may hold neither.
    if (/^(saga|outbox)-/.test(file)) expect(Object.keys(charts).length).toBeGreaterThanOrEqual(2);
    for (const [name, svg] of Object.entries(charts)) {
      expect({ name, committed: existsSync(join(RESULTS_DIR, name)) }).toEqual({ name, committed: true });
      expect({ name, upToDate: readFileSync(join(RESULTS_DIR, name), 'utf8') === svg }).toEqual({ name, upToDate: true });
    }
  });

  it('finds every latency distribution and throughput figure by shape', () => {
    const json = { run: { latencyMs: { p50: 2, p95: 5, p99: 12, max: 30, mean: 3 }, acceptedPerSecond: 111 }, other: { eventsPerSecond: 9 } };
    expect(latencyGroups(json)).toEqual([
      {
        title: 'run.latencyMs',
        bars: [
          { label: 'p50', value: 2 },
          { label: 'p95', value: 5 },
          { label: 'p99', value: 12 },
          { label: 'max', value: 30 },
        ],
      },
    ]);
    expect(throughputBars(json)).toEqual([
      { label: 'run.acceptedPerSecond', value: 111 },
      { label: 'other.eventsPerSecond', value: 9 },
    ]);
  });

  it('draws a line per series over time for arrays of samples with a time key', () => {
    const series = timeSeries({
      timeline: [
        { second: 1, accepted: 90, settled: 80 },
        { second: 2, accepted: 100, settled: 95 },
      ],
    });
    expect(series).toEqual([
      {
        title: 'timeline',
        time: 'second',
        series: {
          accepted: [
            [1, 90],
            [2, 100],
          ],
          settled: [
            [1, 80],
            [2, 95],
          ],
        },
      },
    ]);
  });

  it('labels the saga latency chart with the measured p99 of the POSTs', () => {
    const json = JSON.parse(
      readFileSync(
        join(
          RESULTS_DIR,
          results.find((f) => f.startsWith('saga'))!,
        ),
        'utf8',
      ),
    ) as { saturation: { postLatencyMs: { p99: number } } };
    const svg = Object.entries(
      renderCharts(
        join(
          RESULTS_DIR,
          results.find((f) => f.startsWith('saga'))!,
        ),
      ),
    ).find(([n]) => n.endsWith('-latency.svg'))![1];
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain(`>${Math.round(json.saturation.postLatencyMs.p99)} ms<`);
  });
});
