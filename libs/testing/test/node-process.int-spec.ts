import { NodeProcess } from '@lib/testing';
import { join } from 'node:path';

jest.setTimeout(60_000);

const SCRIPT = join(__dirname, 'fixtures', 'line-printer.ts');

describe('NodeProcess (the process runner of the apps and the test harnesses)', () => {
  const started: NodeProcess[] = [];
  const printer = (env: Record<string, string> = {}) => {
    const process = new NodeProcess({ name: 'printer', script: SCRIPT, env, ready: { kind: 'line', line: 'ready' }, readyTimeoutMs: 30_000 });
    started.push(process);
    return process;
  };
  afterAll(async () => {
    for (const process of started) await process.kill('SIGKILL');
  });

  it("runs a TypeScript script, is ready once it prints its line, and keeps each run's lines apart across a restart", async () => {
    const p = printer({ LINE_PRINTER_DELAY_MS: '300' });
    await p.start();
    expect(p.runLines[0]).toBe('ready');
    expect(await p.waitForLine(/^tick 3$/)).toBe('tick 3');

    expect(await p.stop()).toBe(0);
    expect(p.runLines.at(-1)).toBe('bye');
    await p.start();
    expect(p.runLines).toEqual(['ready']);
    expect(p.lines.filter((line) => line === 'ready')).toHaveLength(2);
    expect(await p.kill('SIGKILL')).toBe('SIGKILL');
  });

  it('fails at once, with its last lines, when the script exits before it is ready', async () => {
    const p = printer({ LINE_PRINTER_EXIT: '4' });
    await expect(p.start()).rejects.toThrow(/printer exited \(4\) before it was ready; its last lines:\n\s+line printer: told to fail/);
  });
});
