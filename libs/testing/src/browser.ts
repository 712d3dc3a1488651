import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium, what the browser tests drive (`apt-get install chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, headless Chromium that talks to nothing but the pages under test. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/**
 * Makes sure Debian's Chromium is installed: installs it with apt-get when it
 * is missing (as CI runs, as root; `apt-get update` first when the package
 * lists do not know it yet). Returns its path.
 */
export function ensureChromium(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  log(`[browser] ${CHROMIUM} is missing: apt-get install -y chromium`);
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'pipe',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'pipe' });
    install();
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM}`);
  return CHROMIUM;
}

export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its throw-away profile. */
  close(): Promise<void>;
}

/**
 * Launches Chromium through playwright-core with a fresh user-data-dir (no
 * state from earlier runs) and a laptop-sized window (1280×800).
 */
export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  const executablePath = ensureChromium();
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
