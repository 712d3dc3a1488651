import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadDotEnv } from './config';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command script of the repository accepts: its usage text (in npm form) and its options for `node:util` parseArgs. */
export interface CommandLineSpec<O extends Options, P extends boolean> {
  /** Shown by `--help` (and after a bad argument): starts with `usage:` and names the npm script(s). */
  usage: string;
  options: O;
  allowPositionals?: P;
}

/**
 * The start of every command script (`npm start`, `infra:*`, `demo`,
 * `bench:*`, `docs:asyncapi`, `events:schemas`): loads `.env` as the apps do
 * (variables already set win), parses the arguments with `node:util`
 * parseArgs (strict: an unknown option is an error), answers `--help`/`-h`
 * with the usage and exit 0, and a bad argument with the error, the usage and
 * exit 2.
 */
export function parseCommandLine<O extends Options, P extends boolean = false>(spec: CommandLineSpec<O, P>, argv: string[] = process.argv.slice(2)) {
  loadDotEnv();
  const run = () =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: spec.allowPositionals,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
    });
  let parsed: ReturnType<typeof run>;
  try {
    parsed = run();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${spec.usage}\n`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${spec.usage}\n`);
    process.exit(0);
  }
  return parsed;
}
