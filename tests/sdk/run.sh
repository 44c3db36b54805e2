#!/usr/bin/env bash
# Drive a patron binary with the real @chec/commerce.js 2.8.0 SDK (node:test), once on SQLite and,
# when PATRON_TEST_DATABASE_URL is set, once more on a fresh schema of that PostgreSQL database.
# Builds nothing: PATRON_BIN names the binary (default ../../target/debug/patron from here).
# Installs the pinned packages of package-lock.json with `npm ci`. Exits non-zero on failure; the
# output ends with node's test summary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

bin="${PATRON_BIN:-$here/../../target/debug/patron}"
[ -x "$bin" ] || { echo "patron binary not found or not executable: $bin (run cargo build, or set PATRON_BIN)" >&2; exit 1; }
PATRON_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export PATRON_BIN

command -v node >/dev/null || { echo "node is missing (Node.js 20 or newer is needed)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "Node.js 20 or newer is needed, found $(node --version)" >&2; exit 1; }

npm ci --no-audit --no-fund --loglevel=error >/dev/null

# shellcheck source=../pg_schema.sh
. "$here/../pg_schema.sh"
cleanup() { pg_schema_drop; }
trap cleanup EXIT

unset PATRON_SDK_POSTGRES_URL
if [ -n "${PATRON_TEST_DATABASE_URL:-}" ]; then
  pg_schema_create sdk "$PATRON_TEST_DATABASE_URL"
  export PATRON_SDK_POSTGRES_URL="$PG_SCHEMA_URL"
fi

out="$(mktemp)"
trap 'cleanup; rm -f "$out"' EXIT
set +e
node --test --test-reporter=spec patron-sdk.test.js 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  # node's spec reporter prints the failing tests after its summary: repeat the summary last
  echo
  grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$out" || true
fi
exit "$status"
