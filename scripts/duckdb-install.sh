#!/usr/bin/env bash
# Installs DuckDB's Node.js client (@duckdb/node-api, which ships the DuckDB
# library) into .cache/duckdb, ignored by git, for the Parquet read-back
# test and scripts/duckdb.cjs. .ci/run calls it; it does nothing when the
# pinned version is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.5.6-r.1
dir=.cache/duckdb
if [ -f "$dir/node_modules/@duckdb/node-api/package.json" ] &&
	grep -q "\"version\": \"$version\"" "$dir/node_modules/@duckdb/node-api/package.json"; then
	exit 0
fi
command -v npm >/dev/null || { echo "duckdb-install: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --silent "@duckdb/node-api@$version"
