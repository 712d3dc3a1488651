import { AppName } from '@lib/events';
import { buildApp, REPO_ROOT } from '@lib/infra';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Builds an app with `nest build` and copies its bundle to a folder of the
 * suite's own, `.local/e2e-bundles/<suite>/<app>/main.js`. `dist/apps/<app>`
 * is shared: another suite or `npm start` rebuilding it (the Nest CLI empties
 * the folder first) would otherwise pull the bundle from under a suite that
 * restarts an app mid-run. The copy stays inside the repository, so the
 * bundle's `require`s of node_modules resolve exactly as they do from dist/.
 */
export async function buildBundle(app: AppName, suite: string): Promise<string> {
  const target = join(REPO_ROOT, '.local', 'e2e-bundles', suite, app, 'main.js');
  mkdirSync(join(target, '..'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      copyFileSync(await buildApp(app), target);
      return target;
    } catch (error) {
      // Someone else's `nest build <app>` ran at the same time: it empties dist/apps/<app>
      // before writing, which fails our build or removes its output before the copy.
      if (attempt >= 3) throw new Error(`nest build ${app} failed ${attempt} times; last: ${(error as Error).message}`);
    }
  }
}
