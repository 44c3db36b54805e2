#!/usr/bin/env bash
# Fuzz a live patron with Schemathesis (pinned in requirements.txt, installed into
# tests/fuzz/.venv) against the server's own /openapi.json: no 5xx, and every answer must match
# the documented status codes, content type and response schema.
#
# One patron per database (SQLite in a temporary directory; when PATRON_TEST_DATABASE_URL is set,
# also PostgreSQL in a fresh schema that is dropped afterwards), each fuzzed in four passes:
#   secret         X-Authorization: the secret key (every merchant operation)
#   public         X-Authorization: the public key (storefront operations; the rest must be 403)
#   bearer         Authorization: Bearer <customer JWT>, all but logout/logout-all (they would
#                  end the session half-way through the pass)
#   bearer-logout  logout and logout-all alone, with a fresh JWT
#   admin          X-Authorization: the admin key (PATRON_ADMIN_KEY), the store API alone
# Before each pass a customer, an order and a JWT are seeded (seed.py); their ids are offered to
# the generator as dictionary values for path/body `customer_id`, `order_id` and body `email`
# (half of the draws), and the default store's id for path `store_id`, so the 200 answers of the
# read/update operations get validated too, not only 404s.
#
# Checks: not_a_server_error and response_schema_conformance (the issue's two), plus
# status_code_conformance (an undocumented status is a spec bug: 401/403/404/405/413/422/429 are
# fine as long as the operation documents them, and patron documents its ErrorBody answers) and
# content_type_conformance (every answer is JSON; it has never been noisy). Phases: examples,
# coverage, fuzzing and stateful (links are inferred; it costs seconds). --continue-on-failure:
# without it an operation stops at its first failure (often a missing-body case), hiding the rest.
# One worker and a fixed --seed keep a pass reproducible (patron's own random ids aside).
#
# Knobs (environment): PATRON_BIN (default <repo>/target/debug/patron, built with `cargo build`
# when missing), FUZZ_SEED (20261125), FUZZ_MAX_EXAMPLES (30 per operation and phase),
# FUZZ_RUN_TIMEOUT (180 s per pass), FUZZ_BUDGET (480 s for all passes together; a pass that is
# cut short or cannot start counts as failed), FUZZ_ST_ARGS (extra `st run` options, split on
# spaces, e.g. `--report junit,har`). Output of every pass and patron's log are kept in
# tests/fuzz/out/ (gitignored). Exits non-zero on any failure; the last line is
# `fuzz: N passed, N failed` (passes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

seed="${FUZZ_SEED:-20261125}"
max_examples="${FUZZ_MAX_EXAMPLES:-30}"
run_timeout="${FUZZ_RUN_TIMEOUT:-180}"
budget="${FUZZ_BUDGET:-480}"
public_key=pk_test_fuzzfuzzfuzz
secret_key=sk_test_fuzzfuzzfuzz
admin_key=ak_test_fuzzfuzzfuzz
default_store=store_default0000000
checks="${FUZZ_CHECKS:-all}"
phases=examples,coverage,fuzzing,stateful

# --- the binary ----------------------------------------------------------------------------------
if [ -n "${PATRON_BIN:-}" ]; then
  bin="$PATRON_BIN"
else
  bin="$repo/target/debug/patron"
  if [ ! -x "$bin" ]; then
    echo "== $bin is missing: cargo build"
    (cd "$repo" && cargo build)
  fi
fi
[ -x "$bin" ] || { echo "patron binary not found or not executable: $bin (run cargo build, or set PATRON_BIN)" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# --- Schemathesis --------------------------------------------------------------------------------
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "python3 is missing (3.10 or newer is needed)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "Python 3.10 or newer is needed, found $("$python" --version)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
st="$venv/bin/st"
st_version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))')"

# --- state and cleanup ---------------------------------------------------------------------------
pg_base_url="${PATRON_TEST_DATABASE_URL:-}"
# patron reads its whole configuration from PATRON_* (and a .env in its working directory, which
# is the temporary directory below): nothing from the caller's environment may leak in.
for var in $(compgen -e | grep '^PATRON_' || true); do unset "$var"; done

out="$here/out"
rm -rf "$out"
mkdir -p "$out"
work="$(mktemp -d)"
server_pid=""
# shellcheck source=../pg_schema.sh
. "$here/../pg_schema.sh"

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  pg_schema_drop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME DATABASE_URL: sets $base
start_server() {
  local name="$1" db_url="$2" port log
  port="$(free_port)"
  log="$out/$name-patron.log"
  (
    cd "$work"
    exec env PATRON_BIND="127.0.0.1:$port" PATRON_DATABASE_URL="$db_url" \
      PATRON_PUBLIC_KEY="$public_key" PATRON_SECRET_KEY="$secret_key" PATRON_ADMIN_KEY="$admin_key" \
      PATRON_RATE_LIMIT_EMAIL_TOKEN_PER_MINUTE=0 PATRON_RATE_LIMIT_EXCHANGE_PER_MINUTE=0 \
      PATRON_RATE_LIMIT_LOGIN_PER_MINUTE=0 PATRON_LOG=warn "$bin" serve
  ) >"$log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "patron ($name) exited during start; its log:" >&2
      cat "$log" >&2
      server_pid=""
      return 1
    fi
    curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "patron ($name) not ready after 60 s; its log:" >&2
  cat "$log" >&2
  return 1
}

results=()
passed=0
failed=0
fuzz_started=$SECONDS

record() { # record DB PASS STATUS DETAIL
  results+=("$(printf '%-9s %-14s %-5s %s' "$1" "$2" "$3" "$4")")
  if [ "$3" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# run_pass DB PASS CREDENTIAL [schemathesis filter options...]
#   CREDENTIAL: secret | public (merchant_key), bearer (customer_jwt) or admin (admin_key)
run_pass() {
  local db="$1" pass="$2" credential="$3"
  shift 3
  local name="$db-$pass" report="$out/$db-$pass.txt" cfg="$work/$db-$pass.toml"
  local left=$((budget - (SECONDS - fuzz_started)))
  local limit=$((left < run_timeout ? left : run_timeout))
  if [ "$limit" -lt 10 ]; then
    echo "== $name: not run, the time budget (FUZZ_BUDGET=${budget}s) is spent"
    record "$db" "$pass" FAIL "not run: time budget spent"
    return 0
  fi

  local CUSTOMER_ID="" ORDER_ID="" EMAIL="" JWT="" seeded key value
  if ! seeded="$("$python" "$here/seed.py" "$base" "$secret_key" "$name")"; then
    record "$db" "$pass" FAIL "seeding failed"
    return 0
  fi
  while IFS='=' read -r key value; do
    case "$key" in
      CUSTOMER_ID) CUSTOMER_ID="$value" ;;
      ORDER_ID) ORDER_ID="$value" ;;
      EMAIL) EMAIL="$value" ;;
      JWT) JWT="$value" ;;
    esac
  done <<<"$seeded"
  local auth_block
  case "$credential" in
    secret) auth_block="[auth.openapi.merchant_key]
api_key = \"$secret_key\"" ;;
    public) auth_block="[auth.openapi.merchant_key]
api_key = \"$public_key\"" ;;
    bearer) auth_block="[auth.openapi.customer_jwt]
bearer = \"$JWT\"" ;;
    admin) auth_block="[auth.openapi.admin_key]
api_key = \"$admin_key\"" ;;
    *) echo "unknown credential $credential" >&2; return 1 ;;
  esac

  cat >"$cfg" <<EOF
# Real ids of this pass's seeded customer and order, drawn for half of the values.
[dictionaries.customer_ids]
values = ["$CUSTOMER_ID"]
[dictionaries.order_ids]
values = ["$ORDER_ID"]
[dictionaries.emails]
values = ["$EMAIL"]
[dictionaries.store_ids]
values = ["$default_store"]

[parameters]
"path.customer_id" = { dictionary = "customer_ids", probability = 0.5 }
"path.order_id" = { dictionary = "order_ids", probability = 0.5 }
"body.customer_id" = { dictionary = "customer_ids", probability = 0.5 }
"body.email" = { dictionary = "emails", probability = 0.5 }
"path.store_id" = { dictionary = "store_ids", probability = 0.5 }

# The pass's one credential, given per security scheme: Schemathesis then knows which scheme
# each request carries, so its authentication checks (a missing or broken credential must be
# a 401) test the scheme the operation is called with.
$auth_block

$(cat "$here/expected.toml")
EOF

  echo
  echo "== $name: schemathesis $st_version, customer $CUSTOMER_ID, order $ORDER_ID, at most ${limit}s"
  local status=0
  set +e
  # from out/, so Schemathesis's .schemathesis/ and .hypothesis/ land there
  # shellcheck disable=SC2086 # FUZZ_ST_ARGS is split on purpose
  (cd "$out" && exec timeout --kill-after=10 "$limit" "$st" --config-file "$cfg" run "$base/openapi.json" \
    --checks "$checks" \
    --phases "${pass_phases:-$phases}" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers 1 \
    --continue-on-failure \
    --request-timeout 10 \
    --generation-database none \
    --output-sanitize false \
    --no-color \
    --report junit --report-junit-path "$out/$name.junit.xml" \
    "$@" ${FUZZ_ST_ARGS:-}) 2>&1 | tee "$report"
  status=${PIPESTATUS[0]}
  set -e

  local closing
  closing="$(grep -E '^=+ .* =+$' "$report" | tail -1 | sed -E 's/^=+ (.*) =+$/\1/')"
  if ! kill -0 "$server_pid" 2>/dev/null; then
    record "$db" "$pass" FAIL "patron died during the pass (see out/$db-patron.log); ${closing:-no summary}"
    return 1
  fi
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    record "$db" "$pass" FAIL "cut short after ${limit}s; ${closing:-no summary}"
  elif [ "$status" -ne 0 ]; then
    record "$db" "$pass" FAIL "${closing:-schemathesis exited $status}"
  else
    record "$db" "$pass" ok "${closing:-passed}"
  fi
}

# fuzz_database DB DATABASE_URL
fuzz_database() {
  local db="$1" url="$2"
  echo
  echo "=== $db"
  if ! start_server "$db" "$url"; then
    record "$db" start FAIL "patron did not start (see out/$db-patron.log)"
    return 0
  fi
  run_pass "$db" secret secret || { stop_server; return 0; }
  run_pass "$db" public public || { stop_server; return 0; }
  run_pass "$db" bearer bearer \
    --exclude-path-regex '^/v1/customers/logout(-all)?$' || { stop_server; return 0; }
  # Two operations and no links between them: nothing to chain statefully.
  pass_phases=examples,coverage,fuzzing run_pass "$db" bearer-logout bearer \
    --include-path-regex '^/v1/customers/logout(-all)?$' || { stop_server; return 0; }
  run_pass "$db" admin admin --include-path-regex '^/v1/stores' || { stop_server; return 0; }
  stop_server
  local panics
  panics="$(grep -c 'panicked' "$out/$db-patron.log" || true)"
  if [ "$panics" -gt 0 ]; then
    record "$db" log FAIL "$panics panic(s) in out/$db-patron.log"
  fi
}

fuzz_database sqlite "sqlite://$work/fuzz.db"

if [ -n "$pg_base_url" ]; then
  pg_schema_create fuzz "$pg_base_url"
  fuzz_database postgres "$PG_SCHEMA_URL"
fi

echo
echo "== fuzz summary: schemathesis $st_version, seed $seed, max-examples $max_examples, checks $checks"
echo "   $((SECONDS - fuzz_started)) s of fuzzing; output of each pass in tests/fuzz/out/"
for line in "${results[@]}"; do echo "   $line"; done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
