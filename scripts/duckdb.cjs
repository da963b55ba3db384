// Runs one SQL statement in DuckDB and prints each result row as a JSON
// object on its own line. Used by the Parquet read-back test
// (cmd/twscope/ecosystem_test.go) and by hand:
//   scripts/duckdb-install.sh && node scripts/duckdb.cjs "SELECT ... FROM 'conns.parquet'"
// @duckdb/node-api is looked up in DUCKDB_NODE_DIR (default .cache/duckdb
// at the repository's root, where scripts/duckdb-install.sh puts it).
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

const dir = process.env.DUCKDB_NODE_DIR || path.join(__dirname, '..', '.cache', 'duckdb');
const { DuckDBInstance } = createRequire(path.join(path.resolve(dir), 'package.json'))('@duckdb/node-api');

async function main() {
  const sql = process.argv[2];
  if (!sql) {
    console.error('usage: node scripts/duckdb.cjs SQL');
    process.exit(2);
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const reader = await conn.runAndReadAll(sql);
  for (const row of reader.getRowObjectsJson()) {
    process.stdout.write(JSON.stringify(row) + '\n');
  }
}

main().catch((err) => {
  console.error('duckdb:', err.message);
  process.exit(1);
});
