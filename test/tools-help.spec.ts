import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every command script of package.json (the `ts-node …` ones: npm start,
 * infra:*, demo, dlq, bench:*, docs:asyncapi, events:schemas) answers
 * `--help` with its usage, in npm form, and exit 0 — without starting
 * anything.
 */
jest.setTimeout(180_000);

const ROOT = join(__dirname, '..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const tools = Object.entries(scripts)
  .filter(([, command]) => command.startsWith('ts-node '))
  .map(([name]) => name);

function npmRun(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = name === 'start' ? ['start', '--silent', '--', '--help'] : ['run', '--silent', name, '--', '--help'];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run <tool> -- --help', () => {
  it('finds the command scripts in package.json', () => {
    expect(tools).toEqual(
      expect.arrayContaining([
        'start',
        'infra:up',
        'infra:status',
        'demo',
        'dlq',
        'bench:outbox',
        'bench:saga',
        'bench:charts',
        'docs:asyncapi',
        'events:schemas',
      ]),
    );
  });

  it.each(tools)('%s answers with its usage, naming itself in npm form, and exit 0', async (name) => {
    const r = await npmRun(name);
    const npmForm = name === 'start' ? 'npm start' : `npm run ${name}`;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(npmForm);
  });
});
