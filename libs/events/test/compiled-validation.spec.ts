import { randomUUID } from 'node:crypto';
import { acceptedFast, findViolations } from '../src/validation';
import { golden, goldenFixtures, invalidFixture, invalidFixtureNames } from './fixtures';

/*
 * checkEvent accepts through validators compiled from the decorators and
 * asks class-validator only when they do not accept. That is sound only if
 * the compiled path never accepts what class-validator rejects, and useful
 * only if it accepts what class-validator accepts: both are held here, over
 * the golden and invalid fixtures and every field of every golden event
 * replaced by values near and across each rule's edges.
 */
const EDGE_VALUES: unknown[] = [
  null,
  '',
  ' ',
  'x',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(200),
  'x'.repeat(201),
  '😀'.repeat(40), // 80 UTF-16 units, 40 characters
  '😀'.repeat(65),
  0,
  1,
  -1,
  1.5,
  1000,
  1001,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e21,
  true,
  [],
  {},
  [{}],
  ['x'],
  'EUR',
  'eur',
  'EUO',
  'order',
  'payment',
  'billing',
  randomUUID(),
  randomUUID().toUpperCase(),
  randomUUID().replace(/-/g, ''),
  '00000000-0000-0000-0000-000000000000',
  '2026-11-30T10:00:00Z',
  '2026-11-30T10:00:00.123456789+01:00',
  '2026-02-30T10:00:00Z',
  '2026-11-30T10:00:00',
  '2026-11-30',
];

/** A deep copy made in this realm (structuredClone's objects have another Object.prototype under Jest, and are no JSON objects to the contract). */
const copyOf = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Every path to a leaf or container of a decoded event (`data.items.0.sku`). */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Object.keys(value).flatMap((key) => pathsOf((value as Record<string, unknown>)[key], [...prefix, key]));
  return prefix.length > 0 ? [prefix, ...children] : children;
}

function withValue(event: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = copyOf(event);
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  if (value === undefined) delete parent[path[path.length - 1]];
  else parent[path[path.length - 1]] = value;
  return copy;
}

function withKey(event: Record<string, unknown>, path: string[], key: string): Record<string, unknown> {
  const copy = copyOf(event);
  let target: Record<string, unknown> = copy;
  for (const step of path) target = target[step] as Record<string, unknown>;
  Object.defineProperty(target, key, { value: 'x', enumerable: true, writable: true, configurable: true });
  return copy;
}

/** The two paths' answers for one candidate: the compiled one accepted, class-validator found nothing wrong. */
const answers = (candidate: unknown) => ({ fast: acceptedFast(candidate), full: findViolations(candidate) === null });

describe('compiled validation', () => {
  it.each(goldenFixtures().map((f) => [f.name]))('accepts the golden %s without class-validator', (name) => {
    expect(answers(golden(name))).toEqual({ fast: true, full: true });
  });

  it.each(invalidFixtureNames().map((name) => [name]))('does not accept the invalid %s', (name) => {
    let candidate: unknown;
    try {
      candidate = JSON.parse(invalidFixture(name));
    } catch {
      return; // not JSON: parse rejects it before validation
    }
    expect(answers(candidate)).toEqual({ fast: false, full: false });
  });

  it.each(goldenFixtures().map((f) => [f.name]))('agrees with class-validator on every field of %s replaced, removed or joined by another', (name) => {
    const event = golden(name);
    const disagreements: string[] = [];
    const check = (what: string, candidate: unknown) => {
      const { fast, full } = answers(candidate);
      if (fast !== full) disagreements.push(`${what}: compiled ${fast ? 'accepts' : 'rejects'}, class-validator ${full ? 'accepts' : 'rejects'}`);
    };
    let checked = 0;
    for (const path of pathsOf(event)) {
      for (const value of [undefined, ...EDGE_VALUES]) {
        check(`${path.join('.')} = ${JSON.stringify(value)}`, withValue(event, path, value));
        checked++;
      }
    }
    const containers = [[], ['data'], ['data', 'items', '0']].filter((p) => p.length === 0 || pathsOf(event).some((q) => q.join('.') === p.join('.')));
    for (const path of containers) {
      for (const key of ['extra', '__proto__', 'constructor', 'toString']) {
        check(`${[...path, key].join('.')} added`, withKey(event, path, key));
        checked++;
      }
    }
    expect(disagreements).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });
});
