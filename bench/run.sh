#!/usr/bin/env bash
# patron's load benchmark, in one command: bench/run.sh
#
# Builds patron (release) and the SQLite ceiling harness, installs what is missing (wrk, perf,
# inferno's flame graphs), then runs bench/bench.py: fresh databases, start-to-ready, seeding,
# wrk against patron and pgbench / sqlite-ceiling beneath it at 1, 8, 32 and 64 connections,
# profiles, peak memory, and the tables of bench/RESULTS.md. All load stays on 127.0.0.1 and
# every run is bounded (BENCH_DURATION seconds, 5 by default; about 12 minutes in all on 2 cores).
#
# Knobs (environment): BENCH_DURATION, BENCH_CONCURRENCY (1,8,32,64), BENCH_BACKENDS
# (postgres,sqlite), BENCH_SCENARIOS (profile,orders,exchange,email,search), BENCH_PROFILE (1),
# BENCH_PG_URL (postgres://postgres@127.0.0.1:5432; the database patron_bench is dropped and
# recreated), PATRON_DATABASE_POOL_SIZE / PATRON_WORKERS (passed to patron). See bench/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

say() { printf '[run.sh] %s\n' "$*"; }

# Tools. pgbench and psql come with the machine's PostgreSQL; wrk and perf from Debian.
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v perf >/dev/null || missing+=(linux-perf)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v pgbench >/dev/null || missing+=(postgresql-contrib)
if ((${#missing[@]})); then
  say "installing ${missing[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${BENCH_PROFILE:-1}" != 0 ] && ! command -v inferno-flamegraph >/dev/null; then
  say "installing inferno (flame graphs; cargo install, once)"
  cargo install --locked inferno >/dev/null 2>&1 || say "inferno not installed: profiles stay as folded stacks"
fi
command -v python3 >/dev/null || { say "python3 is required"; exit 1; }

# Builds. target/ is shared with other work: if cargo waits on its lock, this waits too.
say "building patron (release)"
cargo build --release --bin patron
say "building bench/sqlite-ceiling (release)"
CARGO_TARGET_DIR="$root/target/bench-sqlite-ceiling" \
  cargo build --release --manifest-path "$here/sqlite-ceiling/Cargo.toml"

# PostgreSQL must answer (the machine starts it; this is the command that does).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "PostgreSQL is not answering on 127.0.0.1:5432; start it first, e.g.:"
  say "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
  exit 1
fi

exec python3 "$here/bench.py" "$@"
