/**
 * Preloaded into every process of `npm run bench:saga` (NODE_OPTIONS=--require):
 * counts the statements the process sends to PostgreSQL through `pg` (each a
 * round trip), for ours and both peers alike, and writes the count with the
 * time to QUERY_COUNT_FILE every 100 ms. (Not on a signal: Nest's
 * enableShutdownHooks() shuts the app down on SIGUSR2.) pg_stat_statements is
 * not loaded on the shared server, so this is how round trips are counted.
 */
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (node --require), read before any TypeScript loader */
const fs = require('node:fs');
const pg = require('pg');
/* eslint-enable @typescript-eslint/no-require-imports */

let queries = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  queries++;
  return query.apply(this, args);
};
const file = process.env.QUERY_COUNT_FILE;
if (file) setInterval(() => fs.writeFileSync(file, JSON.stringify({ queries, at: Date.now() })), 100).unref();
