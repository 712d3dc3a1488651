import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Suites that start a private broker on a fixed port run in parallel jest
 * workers, so two of them on overlapping ports collide whenever they happen
 * to run at the same time (CI saw it: the order probes suite and the secured
 * tools suite both on 28252). Every fixed port range in the sources is
 * checked here: a broker takes its port and the next (controller), a
 * three-node cluster six from its base port.
 */
describe('private broker ports', () => {
  it('are not shared: no two suites start brokers on overlapping ports', () => {
    const ranges = fixedPortRanges();
    expect(ranges.length).toBeGreaterThan(20); // the patterns still find the suites

    const overlaps: string[] = [];
    for (const [i, a] of ranges.entries()) {
      for (const b of ranges.slice(i + 1)) {
        if (a.first <= b.last && b.first <= a.last) overlaps.push(`${a.where} (${a.first}-${a.last}) and ${b.where} (${b.first}-${b.last})`);
      }
    }
    expect(overlaps).toEqual([]);
  });
});

interface PortRange {
  where: string;
  first: number;
  last: number;
}

const PATTERNS: { pattern: RegExp; ports: number }[] = [
  { pattern: /private(?:Secure)?Broker\(\{\s*port:\s*(\d{4,5})/g, ports: 2 },
  { pattern: /startPrivateKafka\([^,]+,\s*(\d{4,5})/g, ports: 2 },
  { pattern: /const BASE_PORT = (\d{4,5})/g, ports: 6 },
  { pattern: /brokerPort:\s*(?:cluster \? (\d{4,5}) : (\d{4,5})|(\d{4,5}))/g, ports: 6 },
];

function fixedPortRanges(): PortRange[] {
  const ranges: PortRange[] = [];
  for (const file of sources()) {
    const text = fs.readFileSync(file, 'utf8');
    for (const { pattern, ports } of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        for (const port of match.slice(1).filter(Boolean).map(Number)) {
          ranges.push({ where: `${path.relative(ROOT, file)}:${port}`, first: port, last: port + ports - 1 });
        }
      }
    }
  }
  return ranges;
}

function sources(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'fixtures') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && full !== __filename) found.push(full);
    }
  };
  for (const top of ['apps', 'libs', 'test', 'bench']) walk(path.join(ROOT, top));
  return found;
}
