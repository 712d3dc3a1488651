/**
 * npm run bench:charts — SVG charts from the benchmarks' JSON results, written
 * beside them (`bench/results/<name>.json` → `<name>-latency.svg`,
 * `<name>-throughput.svg`, and `<name>-timeline.svg` when the JSON holds
 * per-interval samples). No dependency: the SVG is written by hand.
 *
 * What is charted is found by shape, so a bench that adds a figure gets it
 * charted without changes here:
 * - latency distribution: every object with p50, p99 and max (ms), one row
 *   of bars per percentile;
 * - throughput: every number whose key ends in `PerSecond`;
 * - over time: every array of objects with a time key (`t`, `second`,
 *   `seconds`, `atSeconds`) and numeric series.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCommandLine } from '@lib/infra';

const USAGE = `usage: npm run bench:charts [-- <results.json> ...]

Writes SVG charts (latency distribution, throughput, and throughput over time when the results hold samples)
beside each JSON result; without arguments, for every bench/results/*.json.`;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Bar {
  label: string;
  value: number;
}
export interface BarGroup {
  title: string;
  bars: Bar[];
}

const PERCENTILES = ['p50', 'p90', 'p95', 'p99', 'max'];
const TIME_KEYS = ['t', 'second', 'seconds', 'atSeconds'];
const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

/** Every latency distribution in the results: `{ p50, p99, max, … }` objects, by their path. */
export function latencyGroups(json: Json, at = ''): BarGroup[] {
  if (!isObject(json)) return [];
  const keys = Object.keys(json);
  if (['p50', 'p99'].every((k) => typeof json[k] === 'number')) {
    return [{ title: at, bars: PERCENTILES.filter((p) => typeof json[p] === 'number').map((p) => ({ label: p, value: json[p] as number })) }];
  }
  return keys.flatMap((k) => latencyGroups(json[k], at ? `${at}.${k}` : k));
}

/** Every throughput figure in the results: numbers under keys ending in `PerSecond`. */
export function throughputBars(json: Json, at = ''): Bar[] {
  if (!isObject(json)) return [];
  return Object.entries(json).flatMap(([k, v]) => {
    const where = at ? `${at}.${k}` : k;
    if (typeof v === 'number' && /PerSecond$/.test(k)) return [{ label: where, value: v }];
    return throughputBars(v, where);
  });
}

/** Every time series in the results: arrays of samples with a time key. */
export function timeSeries(json: Json, at = ''): { title: string; time: string; series: Record<string, [number, number][]> }[] {
  if (Array.isArray(json)) {
    const first = json[0];
    const time = isObject(first) ? TIME_KEYS.find((k) => typeof first[k] === 'number') : undefined;
    if (!time) return [];
    const series: Record<string, [number, number][]> = {};
    for (const sample of json) {
      if (!isObject(sample)) continue;
      for (const [k, v] of Object.entries(sample)) if (k !== time && typeof v === 'number') (series[k] ??= []).push([sample[time] as number, v]);
    }
    return [{ title: at, time, series }];
  }
  if (!isObject(json)) return [];
  return Object.entries(json).flatMap(([k, v]) => timeSeries(v, at ? `${at}.${k}` : k));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : String(Number(n.toFixed(1))));

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Horizontal bars, one block per group, each block scaled on its own (latencies differ by orders of magnitude). */
export function barChartSvg(title: string, unit: string, groups: BarGroup[]): string {
  const width = 760;
  const labelW = 90;
  const barMax = width - labelW - 150;
  const rowH = 18;
  const body: string[] = [];
  let y = 44;
  for (const [gi, group] of groups.entries()) {
    body.push(`<text x="12" y="${y}" font-weight="bold">${esc(group.title)}</text>`);
    y += 8;
    const max = Math.max(...group.bars.map((b) => b.value), 1e-9);
    for (const bar of group.bars) {
      const w = Math.max(1, (bar.value / max) * barMax);
      body.push(
        `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(bar.label)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${COLORS[gi % COLORS.length]}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 12}">${fmt(bar.value)} ${esc(unit)}</text>`,
      );
      y += rowH;
    }
    y += 18;
  }
  return svg(width, y, title, body);
}

/** Lines over time, one per series, on shared axes. */
export function lineChartSvg(title: string, time: string, series: Record<string, [number, number][]>): string {
  const width = 760;
  const height = 320;
  const left = 60;
  const top = 40;
  const plotW = width - left - 160;
  const plotH = height - top - 40;
  const points = Object.values(series).flat();
  const maxT = Math.max(...points.map((p) => p[0]), 1e-9);
  const minT = Math.min(...points.map((p) => p[0]));
  const maxV = Math.max(...points.map((p) => p[1]), 1e-9);
  const x = (t: number) => left + ((t - minT) / (maxT - minT || 1)) * plotW;
  const y = (v: number) => top + plotH - (v / maxV) * plotH;
  const body = [
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end">${fmt(maxV)}</text>`,
    `<text x="${left - 6}" y="${top + plotH}" text-anchor="end">0</text>`,
    `<text x="${left}" y="${top + plotH + 18}">${fmt(minT)}</text>`,
    `<text x="${left + plotW}" y="${top + plotH + 18}" text-anchor="end">${fmt(maxT)} (${esc(time)})</text>`,
  ];
  for (const [i, [name, pts]] of Object.entries(series).entries()) {
    const color = COLORS[i % COLORS.length];
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
      `<text x="${left + plotW + 12}" y="${top + 14 + i * 16}" fill="${color}">${esc(name)}</text>`,
    );
  }
  return svg(width, height, title, body);
}

/** The charts of one results file: file name (beside it) → SVG text. */
export function renderCharts(jsonFile: string): Record<string, string> {
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Json;
  const base = path.basename(jsonFile, '.json');
  const what = isObject(json) && typeof json.benchmark === 'string' ? `${json.benchmark} bench` : base;
  const when = isObject(json) && typeof json.startedAt === 'string' ? `, ${json.startedAt.slice(0, 10)}` : '';
  const out: Record<string, string> = {};
  const latency = latencyGroups(json);
  if (latency.length > 0) out[`${base}-latency.svg`] = barChartSvg(`${what}${when}: latency distribution`, 'ms', latency);
  const throughput = throughputBars(json);
  if (throughput.length > 0) out[`${base}-throughput.svg`] = barChartSvg(`${what}${when}: throughput`, '/s', [{ title: 'per second', bars: throughput }]);
  for (const [i, s] of timeSeries(json).entries()) {
    out[`${base}-timeline${i === 0 ? '' : `-${i + 1}`}.svg`] = lineChartSvg(`${what}${when}: ${s.title} over time`, s.time, s.series);
  }
  return out;
}

/** Writes the charts of `jsonFile` beside it; returns the paths written. */
export function writeCharts(jsonFile: string): string[] {
  return Object.entries(renderCharts(jsonFile)).map(([name, content]) => {
    const file = path.join(path.dirname(jsonFile), name);
    fs.writeFileSync(file, content);
    return file;
  });
}

export const RESULTS_DIR = path.join(__dirname, 'results');

if (require.main === module) {
  const { positionals } = parseCommandLine({ usage: USAGE, options: {}, allowPositionals: true });
  const files =
    positionals.length > 0
      ? positionals
      : fs
          .readdirSync(RESULTS_DIR)
          .filter((f) => f.endsWith('.json'))
          .map((f) => path.join(RESULTS_DIR, f));
  for (const file of files) for (const written of writeCharts(file)) console.log(`wrote ${path.relative(process.cwd(), written)}`);
}
