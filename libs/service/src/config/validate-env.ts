import { maskSecrets } from '@lib/logging';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/**
 * Thrown when the environment does not satisfy the app's config class. Its
 * message has one line per bad variable, each naming the variable, e.g.
 * `Invalid configuration: ORDER_PORT must not be greater than 65535 (got "70000")`.
 */
export class InvalidConfigError extends Error {
  readonly code = 'INVALID_CONFIG';

  constructor(
    /** One sentence per bad variable, without the `Invalid configuration:` prefix. */
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `Invalid configuration: ${problem}`).join('\n'));
    this.name = 'InvalidConfigError';
  }
}

/**
 * Validates `process.env` (or any record) against a class-validator class
 * whose properties carry the defaults, and returns the typed, converted
 * config. Every bad variable is reported, not only the first, so one start
 * attempt shows everything that needs fixing. Variables the class does not
 * declare are ignored (the rest of the environment).
 */
export function validateEnv<T extends object>(schema: new () => T, env: Record<string, unknown>): T {
  const known = new Set(Object.keys(new schema()));
  const defined = Object.fromEntries(Object.entries(env).filter(([k, v]) => known.has(k) && v !== undefined && v !== '' && v !== 'undefined'));
  const config = plainToInstance(schema, defined, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, forbidUnknownValues: true });
  const problems = errors.map((error) => describe(error, defined));
  // Settings only valid together (e.g. a SASL mechanism without its password): checked once each variable is valid alone.
  const settingProblems = (config as { settingProblems?: () => string[] }).settingProblems;
  if (errors.length === 0 && typeof settingProblems === 'function') problems.push(...settingProblems.call(config));
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return config;
}

function describe(error: ValidationError, env: Record<string, unknown>): string {
  // A value of the wrong type fails its range checks too; the type is the news.
  const constraints = error.constraints ?? {};
  const key = Object.keys(constraints).find((k) => /^is(Int|Number|Boolean|String)$/.test(k)) ?? Object.keys(constraints)[0];
  const constraint = key ? constraints[key] : `${error.property} is invalid`;
  const given = env[error.property];
  if (given === undefined) return `${constraint} (not set)`;
  return `${constraint} (got ${JSON.stringify(shown(error.property, typeof given === 'string' ? given : JSON.stringify(given)))})`;
}

/**
 * A bad value as a config error may repeat it: passwords and tokens not at
 * all, webhook URLs (a token in the path) as scheme and host, any other URL
 * with its credentials masked.
 */
export function shown(variable: string, value: string): string {
  if (/PASSWORD|SECRET|TOKEN/.test(variable)) return '***';
  if (/WEBHOOK/.test(variable)) {
    const origin = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)/i.exec(value);
    return origin ? `${origin[1]}${origin[2]}/…` : '***';
  }
  return maskSecrets(value);
}
