/**
 * `K=V,K=V` from a command-line option (`--app-env`, `--ours-env`): settings
 * given to the apps a benchmark or chaos run starts. Refuses anything that is
 * not a NAME=value pair, so a typo does not silently measure the defaults.
 */
export function parseEnvAssignments(raw: string | undefined, option: string): Record<string, string> {
  const pairs = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq > 0 ? pair.slice(0, eq) : '';
      if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`${option} wants NAME=value pairs separated by commas, got "${pair}"`);
      return [name, pair.slice(eq + 1)];
    }),
  );
}

/** The pairs back as `K=V,K=V` (for a printed command line). */
export function formatEnvAssignments(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
