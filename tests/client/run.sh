#!/usr/bin/env bash
# Generate a Python client from openapi/openapi.json with openapi-python-client (pinned in
# requirements.txt, installed into tests/client/.venv), into a temporary directory, and prove it
# against a patron it starts on SQLite (check_client.py). A warning or error from the generator
# fails the run: it means the spec has a problem.
# Builds nothing: PATRON_BIN names the binary (default ../../target/debug/patron from here).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
spec="$(cd ../.. && pwd)/openapi/openapi.json"

bin="${PATRON_BIN:-$here/../../target/debug/patron}"
[ -x "$bin" ] || { echo "patron binary not found or not executable: $bin (run cargo build, or set PATRON_BIN)" >&2; exit 1; }
PATRON_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export PATRON_BIN

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "python3 is missing (3.10 or newer is needed)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "Python 3.10 or newer is needed, found $("$python" --version)" >&2; exit 1; }

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
export PATH="$venv/bin:$PATH"   # the generator's post-hooks run ruff from here

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== generating a client from openapi/openapi.json with openapi-python-client $(openapi-python-client --version | awk '{print $NF}')"
set +e
gen_out="$(openapi-python-client generate --path "$spec" --meta none \
  --output-path "$work/patron_client" 2>&1)"
gen_status=$?
set -e
echo "$gen_out"
if [ "$gen_status" -ne 0 ] || grep -qiE 'warning|error|unable to|skipping' <<<"$gen_out"; then
  echo "FAIL: openapi-python-client refused or warned on openapi/openapi.json (a spec problem, see above)"
  exit 1
fi
[ -f "$work/patron_client/client.py" ] || { echo "FAIL: nothing was generated"; exit 1; }
echo "generated $(find "$work/patron_client" -name '*.py' | wc -l) modules"

echo "== using the generated client against patron"
PYTHONPATH="$work" PATRON_OPENAPI="$spec" PYTHONDONTWRITEBYTECODE=1 \
  "$venv/bin/python" check_client.py
