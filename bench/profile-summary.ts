/**
 * npx ts-node bench/profile-summary.ts <dir> — where the CPU of the apps goes,
 * from the `.cpuprofile` files that `npm run bench:saga -- --profile <dir>`
 * has them write (`node --cpu-prof`). Per profile: the share of samples whose
 * stack holds a frame of each package (any frame: TypeORM calling pg counts
 * for both) and the packages with the most self time. Prints Markdown.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a frame belongs to: an npm package, one of our libraries or apps, Node itself, or (idle) / (gc) / (program). */
function owner(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return 'app bundle';
}

function summarize(file: string): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const any = new Map<string, number>();
  const self = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])!;
    const own = owner(node.callFrame.url, node.callFrame.functionName);
    if (own === '(idle)' || own === '(program)') continue;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    busy += ms;
    self.set(own, (self.get(own) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      seen.add(owner(n.callFrame.url, n.callFrame.functionName));
    }
    for (const s of seen) any.set(s, (any.get(s) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .filter(([k]) => k !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${Math.round((v / busy) * 100)} %`)
      .join(', ');
  return [
    `### ${path.basename(file)}`,
    '',
    `busy ${Math.round(busy)} ms of samples`,
    '',
    `- any frame: ${top(any, 14)}`,
    `- self time: ${top(self, 10)}`,
    '',
  ].join('\n');
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx ts-node bench/profile-summary.ts <directory of .cpuprofile files>\n');
  process.exit(2);
}
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) process.stdout.write(summarize(path.join(dir, f)) + '\n');
