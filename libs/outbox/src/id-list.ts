/**
 * Ids as one comma-separated text parameter, read back with
 * `string_to_array($n, ',')::bigint[]`: pg would quote and escape every
 * element of an array parameter, a thousand a round for the relay.
 */
export function idList(ids: readonly string[]): string {
  return ids.join(',');
}
